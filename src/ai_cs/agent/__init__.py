"""The customer-service agent (pydantic-ai): deps, tools, the offline policy, running a turn.

Import from the submodules (``ai_cs.agent.agent``, ``ai_cs.agent.tools`` …); this package
itself imports nothing, so ``ai_cs.agent.phrases`` stays cheap to load.
"""
