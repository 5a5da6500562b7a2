"""Marketplace bridges: real seller accounts connected to ai-cs (CONTRACT §10).

A bridge speaks a marketplace's own private protocol on one side and the gateway protocol of
CONTRACT §7 on ai-cs's side, so everything above it (inbox, lanes, agent, outbox, delivery) stays
platform-neutral. :mod:`ai_cs.bridges.endpoint` is the §7 side shared by every bridge;
:mod:`ai_cs.bridges.xianyu` is the first marketplace (闲鱼 / Goofish).
"""
