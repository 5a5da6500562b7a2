"""The dispatch client in ai-cs: how ai-cs talks to a dispatch service, only over HTTP.

:class:`DispatchClient` is the seam; :class:`HttpDispatchClient` talks to
``AICS_DISPATCH_URL`` (or the built-in service on ``DISPATCH_PORT``) with the bearer key from
``AICS_DISPATCH_API_KEY`` (or the key ai-cs made for itself, see :func:`service_key`).
:class:`RecordingDispatchClient` is the fake for tests and demos.

Errors say whether trying again can help: :class:`DispatchUnavailable` (network, timeouts, 5xx,
429, and 401/403 which a configuration fix cures) is retried by the relay with backoff;
:class:`DispatchRejected` (any other 4xx) is not.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, Protocol

import httpx

from ai_cs.auth.service import authenticate, create_key
from ai_cs.clock import Clock
from ai_cs.config import Settings
from ai_cs.db.database import Database
from ai_cs.dispatch.config import (
    CLIENT_KEY_FILE,
    dispatch_base_url,
    read_secret_file,
    setting,
    write_secret_file,
)
from ai_cs.dispatch.results import MAX_RESULT_BYTES
from ai_cs.errors import AicsError, AuthError

JOBS_PATH = "/api/v1/jobs"
SERVICE_KEY_NAME = "ai-cs 派单中继 (dispatch relay)"
MAX_ERROR_CHARS = 300
_RETRYABLE_STATUS = frozenset({401, 403, 408, 425, 429})


class DispatchUnavailable(AicsError, code="dispatch_unavailable", http_status=503):
    """The dispatch service could not be reached or asked to try later."""


class DispatchRejected(AicsError, code="dispatch_rejected", http_status=502):
    """The dispatch service refused the request for good (a 4xx other than auth/timeouts)."""


class DispatchClient(Protocol):
    """What ai-cs needs from a dispatch service."""

    def create_job(self, payload: Mapping[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Create (or, for a known key, find) the job; returns it with its ``job_id``."""
        ...

    def fetch_result(self, result_url: str) -> bytes:
        """The bytes of a finished job's result (from the callback's ``result_url``)."""
        ...


def _error_text(response: httpx.Response) -> str:
    try:
        error = response.json()["error"]
        return f"HTTP {response.status_code} {error['code']}: {error['message']}"[:MAX_ERROR_CHARS]
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code}: {response.text[:200]}"


def _error_head(response: httpx.Response, limit: int = 4096) -> httpx.Response:
    """An unread streamed response as a read one holding at most ``limit`` bytes of its body."""
    head = bytearray()
    for chunk in response.iter_bytes():
        head += chunk
        if len(head) >= limit:
            break
    return httpx.Response(
        response.status_code,
        headers={"content-type": response.headers.get("content-type", "text/plain")},
        content=bytes(head[:limit]),
    )


def _raise_for(response: httpx.Response) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    if status in _RETRYABLE_STATUS or status >= 500:
        raise DispatchUnavailable(_error_text(response), status=status)
    raise DispatchRejected(_error_text(response), status=status)


class HttpDispatchClient:
    """:class:`DispatchClient` over HTTP (httpx, one connection pool, thread-safe)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 10.0,
        max_result_bytes: int = MAX_RESULT_BYTES,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.max_result_bytes = max_result_bytes
        self._origin = httpx.URL(self.base_url)
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout,
            transport=transport,
            trust_env=False,  # never route shop traffic through an environment proxy
            follow_redirects=False,
        )

    @classmethod
    def from_settings(cls, settings: Settings, db: Database, clock: Clock) -> HttpDispatchClient:
        """The client for the configured dispatch service (key from :func:`service_key`)."""
        return cls(dispatch_base_url(settings), service_key(settings, db, clock))

    def create_job(self, payload: Mapping[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """POST the job with ``Idempotency-Key``; a retry with the same key gets the same job."""
        try:
            response = self._http.post(
                JOBS_PATH, json=dict(payload), headers={"Idempotency-Key": idempotency_key}
            )
        except httpx.HTTPError as exc:
            raise DispatchUnavailable(f"dispatch service unreachable: {exc!r}") from exc
        _raise_for(response)
        try:
            job: dict[str, Any] = response.json()
        except ValueError as exc:
            raise DispatchUnavailable("dispatch service answered with non-JSON") from exc
        if not isinstance(job, dict) or not job.get("job_id"):
            raise DispatchUnavailable("dispatch service answered without a job_id")
        return job

    def fetch_result(self, result_url: str) -> bytes:
        """Download a result, only from this dispatch service's origin, at most the size cap."""
        try:
            url = httpx.URL(result_url)
        except httpx.InvalidURL as exc:
            raise DispatchRejected(f"result URL {result_url[:100]!r} is not a URL") from exc
        if (url.scheme, url.host, url.port) != (
            self._origin.scheme,
            self._origin.host,
            self._origin.port,
        ) or not url.path.startswith(self._origin.path.rstrip("/") + "/"):
            # The key goes only to the dispatch service itself, never to another host.
            raise DispatchRejected(
                f"result URL {result_url[:100]!r} is not on the dispatch service {self.base_url}"
            )
        try:
            with self._http.stream("GET", url) as response:
                if not 200 <= response.status_code < 300:
                    # A streamed answer is unread: read a little of the error, never all of it.
                    _raise_for(_error_head(response))
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > self.max_result_bytes:
                        raise DispatchRejected(
                            f"result is larger than {self.max_result_bytes} bytes"
                        )
                return bytes(body)
        except httpx.HTTPError as exc:
            raise DispatchUnavailable(f"result download failed: {exc!r}") from exc

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> HttpDispatchClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RecordingDispatchClient:
    """In-memory :class:`DispatchClient` (tests, demos): keeps jobs by idempotency key."""

    def __init__(self, results: Mapping[str, bytes] | None = None) -> None:
        self.jobs: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []
        self.results = dict(results or {})
        self._lock = threading.Lock()

    def create_job(self, payload: Mapping[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Record the job once per key and return it."""
        with self._lock:
            self.calls.append(idempotency_key)
            if idempotency_key not in self.jobs:
                number = len(self.jobs) + 1
                self.jobs[idempotency_key] = {
                    **payload,
                    "job_id": f"JOB_FAKE_{number:04d}",
                    "status": "open",
                }
            return dict(self.jobs[idempotency_key])

    def fetch_result(self, result_url: str) -> bytes:
        """The bytes registered for ``result_url``."""
        try:
            return self.results[result_url]
        except KeyError:
            raise DispatchRejected(f"no result at {result_url!r}") from None


def service_key(settings: Settings, db: Database, clock: Clock) -> str:
    """The bearer key ai-cs uses towards the dispatch service.

    ``AICS_DISPATCH_API_KEY`` when set. Otherwise a ``staff`` key that ai-cs creates in its own
    database once and keeps in ``DATA_DIR/dispatch_client.key`` (mode 0600): right for the
    built-in dispatch service, which checks keys against the same database. A stored key that no
    longer authenticates (revoked, another database) is replaced.
    """
    configured = setting(settings, "dispatch_api_key")
    if configured:
        return configured
    path = settings.data_dir / CLIENT_KEY_FILE
    for _ in range(3):
        stored = read_secret_file(path)
        if stored is not None and _authenticates(db, clock, stored):
            return stored

        def make(session: Any, replace: bool = stored is not None) -> str | None:
            key = create_key(session, clock, name=SERVICE_KEY_NAME, scope="staff")
            if not write_secret_file(path, key, replace=replace):
                raise _LostRace
            return key

        try:
            made = db.run_write(make)
        except _LostRace:
            continue  # another process wrote the file first (our key rolled back); use theirs
        if made is not None:
            return made
    raise AuthError(f"cannot set up the dispatch client key in {path}")


class _LostRace(Exception):
    """Another process created the key file first."""


def _authenticates(db: Database, clock: Clock, key: str) -> bool:
    try:
        with db.write() as session:
            authenticate(session, clock, key)
    except AuthError:
        return False
    return True
