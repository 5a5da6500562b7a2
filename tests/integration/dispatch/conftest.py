"""Fixtures for the dispatch tests: both servers on loopback around one workflow."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from dispatch_helpers import FAST, CallbackRecorder, LiveServer, Shop, free_port, make_api_app
from fastapi import FastAPI

from ai_cs.auth.service import create_key
from ai_cs.config import Settings
from ai_cs.dispatch.app import DispatchOptions, create_dispatch_app
from ai_cs.dispatch.client import HttpDispatchClient
from ai_cs.workflow import Workflow


@pytest.fixture
def shop_settings(settings: Settings) -> Settings:
    """Settings with both services on free loopback ports."""
    return settings.model_copy(update={"dispatch_port": free_port(), "api_port": free_port()})


@pytest.fixture
def make_shop(shop_settings: Settings, workflow: Workflow) -> Iterator[Callable[..., Shop]]:
    """Start both servers (dispatch options adjustable); everything is stopped afterwards."""
    made: list[Shop] = []

    def make(options: DispatchOptions = FAST) -> Shop:
        callbacks: list[tuple[dict[str, str], bytes]] = []
        with workflow.db.write() as session:
            keys = {
                "relay": create_key(session, workflow.clock, name="ai-cs relay", scope="staff"),
                "admin": create_key(session, workflow.clock, name="店长", scope="admin"),
                "partner": create_key(
                    session, workflow.clock, name="A店", scope="partner", acc_ids=["shop_a"]
                ),
                "wang": create_key(session, workflow.clock, name="设计师小王", scope="designer"),
                "li": create_key(session, workflow.clock, name="设计师小李", scope="designer"),
            }

        def api_factory() -> FastAPI:
            app = make_api_app(shop_settings, workflow)
            app.add_middleware(CallbackRecorder, seen=callbacks)
            return app

        dispatch = LiveServer(
            lambda: create_dispatch_app(
                shop_settings, db=workflow.db, clock=workflow.clock, options=options
            ),
            shop_settings.dispatch_port,
        ).start()
        api = LiveServer(api_factory, shop_settings.api_port).start()
        shop = Shop(
            settings=shop_settings,
            workflow=workflow,
            dispatch=dispatch,
            api=api,
            keys=keys,
            relay_client=HttpDispatchClient(dispatch.url, keys["relay"], timeout=10),
            callbacks=callbacks,
        )
        made.append(shop)
        return shop

    try:
        yield make
    finally:
        for shop in made:
            shop.close()


@pytest.fixture
def shop(make_shop: Callable[..., Shop]) -> Shop:
    """Both servers with fast retries (callback backoff 0.3 s)."""
    return make_shop()
