"""The marketplace gateway (CONTRACT §7).

A websocket client with a durable inbox and a send outbox, result delivery, and a simulator of
the gateway for development and tests. Entry points: :func:`ai_cs.gateway.runner.run_gateway_for`
and :func:`ai_cs.gateway.client.run_gateway` (``aics serve``: client and delivery loop),
:class:`ai_cs.gateway.client.GatewayClient`, :class:`ai_cs.gateway.sim.GatewaySimulator`,
:func:`ai_cs.conversations.service.send_to_customer` (every message to a customer: recorded in
the transcript and queued for the gateway in one transaction) and the customers' result links in
:mod:`ai_cs.gateway.routes`. Nothing heavy is imported here.
"""
