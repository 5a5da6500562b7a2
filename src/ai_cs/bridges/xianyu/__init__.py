"""The 闲鱼 (Xianyu / Goofish) bridge.

Everything here is written from ``shared/marketplace-notes.md`` (what public projects show of the
web IM protocol); nothing was tried against the live marketplace. These are the marketplace's
private web APIs: they may change, and the platform may restrict an account that uses them.

- :mod:`.cookies` — the seller's cookie string (first ``_m_h5_tk`` wins, Set-Cookie merged back);
- :mod:`.mtop` — signed mtop calls (IM token, item and order detail, consign) and image upload;
- :mod:`.frames` — lwp frames out, push payloads in (base64 → JSON or MessagePack);
- :mod:`.messages` — decoded pushes classified and mapped to CONTRACT §7 events;
- :mod:`.session` — one account's websocket session (register, sync, heartbeat, ack, send);
- :mod:`.sim` — a fake Goofish service (mtop + upload + websocket) for tests and development.
"""
