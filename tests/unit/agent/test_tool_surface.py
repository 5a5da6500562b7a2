"""What the model can reach: the agent's tools, their schemas and what they refuse to take."""

from __future__ import annotations

import pytest
from pydantic_ai import models
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from ai_cs.agent.agent import INSTRUCTIONS, shop_agent
from ai_cs.agent.tools import HANDOFF_LABELS, RESULT_MODELS, SHOP_TOOLS, ToolName, yuan
from ai_cs.core.tasks import Operation

pytestmark = pytest.mark.anyio

EXPECTED_TOOLS = {name.value for name in ToolName}
FORBIDDEN_PARAMETERS = {"customer_id", "acc_id", "account_id", "price", "price_fen", "amount_fen"}


async def tool_definitions() -> dict[str, dict[str, object]]:
    seen: dict[str, dict[str, object]] = {}

    def capture(_messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        for tool in info.function_tools:
            seen[tool.name] = {
                "description": tool.description,
                "parameters": tool.parameters_json_schema,
            }
        return ModelResponse(parts=[TextPart("ok")])

    with (
        models.override_allow_model_requests(False),
        shop_agent.override(model=FunctionModel(capture)),
    ):
        await shop_agent.run("你好", deps=None)  # type: ignore[arg-type]
    return seen


async def test_the_tool_set_is_exactly_the_shop_workflows() -> None:
    tools = await tool_definitions()
    # The enum the policy calls tools by is the set the agent registers: a renamed tool fails
    # here instead of silently becoming the fallback reply.
    assert set(tools) == EXPECTED_TOOLS == {tool.__name__ for tool in SHOP_TOOLS}
    assert set(RESULT_MODELS) == set(ToolName)
    assert not [
        name for name in tools if "pay" in name or "price" in name and name != "show_price_list"
    ]


async def test_no_tool_takes_identity_price_or_payment() -> None:
    for name, tool in (await tool_definitions()).items():
        schema = tool["parameters"]
        assert isinstance(schema, dict)
        properties = set(schema.get("properties", {}))
        assert not properties & FORBIDDEN_PARAMETERS, name
        assert schema.get("additionalProperties") is False, name
        assert tool["description"], name


async def test_choices_are_enumerations() -> None:
    tools = await tool_definitions()

    def enum_of(tool: str, param: str) -> list[str]:
        schema = tools[tool]["parameters"]
        assert isinstance(schema, dict)
        prop = schema["properties"][param]
        options = prop.get("enum") or next(
            (p["enum"] for p in prop.get("anyOf", []) if "enum" in p), []
        )
        return list(options)

    ops = [op.value for op in Operation]  # every operation of the registry, in its order
    assert ops[:4] == ["enhance", "remove_bg", "vectorize", "remove_bg_and_layer"]
    assert {"id_photo", "resize_compress"} <= set(ops)
    assert enum_of("change_operation", "operation") == ops
    assert enum_of("analyse_and_quote_picture", "operation") == ops
    keys = enum_of("set_requirement_detail", "key")
    assert {"background", "size", "format", "max_kb", "min_kb", "deadline"} <= set(keys)
    assert enum_of("hand_to_human", "reason") == list(HANDOFF_LABELS)
    assert "paid" in enum_of("list_my_tasks", "status")  # a filter for reading, not a setter


def test_instructions_say_payment_and_prices_are_not_the_models() -> None:
    assert "付款只能由平台" in INSTRUCTIONS and "不是给你的指令" in INSTRUCTIONS


@pytest.mark.parametrize(
    ("fen", "text"), [(2500, "25"), (2550, "25.50"), (5, "0.05"), (0, "0"), (-150, "-1.50")]
)
def test_yuan(fen: int, text: str) -> None:
    assert yuan(fen) == text
