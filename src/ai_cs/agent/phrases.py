"""The offline agent's phrase tables: what customers say, as data.

Every intent is a list of phrases; slots (size, colour, deadline) are patterns and word lists.
Adding a way of saying something is a change to a table here, never to the policy's code.
Chinese phrases match anywhere in the message; ASCII phrases match whole words.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from ai_cs.core.tasks import Operation


class Intent(StrEnum):
    """What a customer message is about."""

    GREETING = "greeting"
    THANKS = "thanks"
    ASK_PRICE = "ask_price"
    REMOVE_BG = "remove_bg"
    ENHANCE = "enhance"
    VECTORIZE = "vectorize"
    LAYERED = "layered"
    ID_PHOTO = "id_photo"
    RESIZE = "resize"
    FIND_IMAGE = "find_image"
    CHANGE = "change"
    ADD_DETAIL = "add_detail"
    ASK_PROGRESS = "ask_progress"
    CONFIRM = "confirm"
    REVISION = "revision"
    COMPLAINT = "complaint"
    HUMAN = "human"
    PAID_CLAIM = "paid_claim"
    PRICE_CHANGE = "price_change"


INTENT_PHRASES: Final[dict[Intent, tuple[str, ...]]] = {
    Intent.GREETING: (
        "你好",
        "您好",
        "在吗",
        "在不在",
        "在么",
        "有人吗",
        "哈喽",
        "嗨",
        "老板好",
        "亲",
        "hello",
        "hi",
        "hey",
    ),
    Intent.THANKS: ("谢谢", "感谢", "多谢", "辛苦了", "thanks", "thank you"),
    Intent.ASK_PRICE: (
        "多少钱",
        "怎么收费",
        "收费",
        "价格",
        "报价",
        "费用",
        "什么价",
        "价钱",
        "贵不贵",
        "几块钱",
        "how much",
        "price",
        "cost",
    ),
    Intent.REMOVE_BG: (
        "抠图",
        "扣图",
        "抠出来",
        "去背景",
        "去掉背景",
        "背景去掉",
        "删背景",
        "换背景",
        "白底",
        "透明底",
        "透明背景",
        "背景透明",
        "remove background",
        "remove bg",
        "cutout",
        "cut out",
        "transparent background",
    ),
    Intent.ENHANCE: (
        "变清晰",
        "弄清晰",
        "清晰一点",
        "清楚一点",
        "高清",
        "修复",
        "去模糊",
        "模糊",
        "画质",
        "清晰度",
        "放大",
        "enhance",
        "sharpen",
        "upscale",
        "deblur",
        "clearer",
    ),
    Intent.VECTORIZE: (
        "转矢量",
        "矢量图",
        "矢量",
        "ai格式",
        "ai文件",
        "svg",
        "eps",
        "cdr",
        "描图",
        "vectorize",
        "vector",
    ),
    Intent.LAYERED: ("分层", "psd", "图层", "layered", "layers", "layer"),
    Intent.ID_PHOTO: (
        "证件照",
        "寸照",
        "一寸",
        "二寸",
        "1寸",
        "2寸",
        "换底色",
        "换背景色",
        "蓝底照",
        "红底照",
        "白底照",
        "id photo",
        "passport photo",
    ),
    Intent.RESIZE: (
        "改尺寸",
        "改大小",
        "调尺寸",
        "调整尺寸",
        "改像素",
        "压缩",
        "kb以内",
        "kb以下",
        "resize",
        "compress",
    ),
    Intent.FIND_IMAGE: (
        "找图",
        "找原图",
        "高清原图",
        "找一张",
        "找一下这张",
        "有没有这张",
        "同款图",
        "原图",
        "帮我找",
        "find image",
        "find the original",
        "original image",
        "find picture",
    ),
    Intent.CHANGE: ("改成", "换成", "改为", "改一下", "改下", "变成", "change to", "switch to"),
    Intent.ADD_DETAIL: (
        "对了",
        "还要",
        "另外",
        "补充",
        "再加",
        "顺便",
        "还有",
        "备注",
        "by the way",
        "btw",
        "also",
    ),
    Intent.ASK_PROGRESS: (
        "进度",
        "好了吗",
        "好了没",
        "好没好",
        "做好了",
        "做完了吗",
        "什么时候好",
        "多久好",
        "多久能好",
        "怎么样了",
        "到哪了",
        "状态",
        "我的订单",
        "订单呢",
        "progress",
        "status",
        "is it done",
        "ready yet",
        "my order",
        "my orders",
        "orders",
    ),
    Intent.CONFIRM: (
        "确认收货",
        "满意",
        "可以了",
        "没问题了",
        "很好",
        "效果不错",
        "收到了",
        "looks good",
        "satisfied",
        "confirm",
    ),
    Intent.REVISION: (
        "再改",
        "不满意",
        "重做",
        "返工",
        "重新做",
        "效果不好",
        "不太行",
        "不行",
        "redo",
        "not satisfied",
        "revise",
        "revision",
    ),
    Intent.COMPLAINT: ("投诉", "差评", "举报", "骗子", "退款", "complain", "complaint", "refund"),
    Intent.HUMAN: (
        "人工",
        "真人",
        "转客服",
        "找客服",
        "叫客服",
        "客服呢",
        "活人",
        "店主",
        "老板在吗",
        "human",
        "real person",
        "agent",
        "staff",
    ),
    Intent.PAID_CLAIM: (
        "已付款",
        "已经付款",
        "付过款",
        "付了款",
        "我付了",
        "已支付",
        "付款了",
        "已经付了",
        "标记为已付款",
        "已付",
        "paid",
        "mark as paid",
        "payment done",
    ),
    Intent.PRICE_CHANGE: (
        "改价",
        "改价格",
        "价格改",
        "降价",
        "便宜点",
        "便宜一点",
        "优惠",
        "打折",
        "少点",
        "免费",
        "不要钱",
        "discount",
        "for free",
        "set price",
        "price to",
    ),
}
"""Phrases of every intent. Longer phrases win over the shorter ones inside them."""

OPERATION_OF_INTENT: Final[dict[Intent, Operation]] = {
    Intent.ID_PHOTO: Operation.ID_PHOTO,
    Intent.LAYERED: Operation.REMOVE_BG_AND_LAYER,
    Intent.VECTORIZE: Operation.VECTORIZE,
    Intent.REMOVE_BG: Operation.REMOVE_BG,
    Intent.RESIZE: Operation.RESIZE_COMPRESS,
    Intent.ENHANCE: Operation.ENHANCE,
}
"""Which operation an intent asks for, in order of precedence (分层 includes 抠图)."""

LEADING_FILLERS: Final = (
    "顺便说一下",
    "补充一下",
    "还有就是",
    "哦对了",
    "噢对了",
    "对了",
    "另外",
    "顺便",
    "补充",
    "by the way",
    "btw",
)
"""Openers stripped from a note: "对了，要高清一点" is recorded as "要高清一点"."""

COLOUR_WORDS: Final[dict[str, str]] = {
    "白底": "白色背景",
    "白色背景": "白色背景",
    "透明底": "透明背景",
    "透明背景": "透明背景",
    "红底": "红色背景",
    "蓝底": "蓝色背景",
    "黑底": "黑色背景",
    "白色": "白色",
    "黑色": "黑色",
    "红色": "红色",
    "蓝色": "蓝色",
    "绿色": "绿色",
    "黄色": "黄色",
    "灰色": "灰色",
    "粉色": "粉色",
    "紫色": "紫色",
    "橙色": "橙色",
    "金色": "金色",
}
"""Colour words and what is recorded for them (``colour`` requirement)."""

DEADLINE_WORDS: Final = (
    "今天之内",
    "今天",
    "今晚",
    "明天",
    "后天",
    "这周",
    "周末",
    "尽快",
    "加急",
    "马上",
    "越快越好",
    "急用",
    "asap",
    "today",
    "tomorrow",
)
"""Deadline words recorded as the ``deadline`` requirement."""

SIZE_PATTERNS: Final = (
    r"(\d+(?:\.\d+)?)\s*(?:x|×|\*|乘)\s*(\d+(?:\.\d+)?)\s*(cm|厘米|mm|毫米)",
    r"(\d{2,5})\s*(?:x|×|\*|乘)\s*(\d{2,5})\s*(?:px|像素)?",
    r"(?<![a-z0-9])(a[3-6])(?![a-z0-9])",
)
"""Sizes: print sizes ``10x15cm``, pixels ``800x800``, paper ``A4`` (first match wins)."""

DEADLINE_PATTERNS: Final = (
    r"\d{1,2}\s*(?:点|点钟)\s*(?:前|之前)",
    r"\d{1,3}\s*(?:个)?\s*(?:小时|天)\s*(?:内|之内)",
)
"""Deadlines: ``5点前``, ``2小时内``."""

MONEY_PATTERN: Final = r"\d+(?:\.\d+)?\s*(?:元|块|rmb|yuan)"
"""An amount of money; with a change request it is a price change request."""

TASK_ID_PATTERN: Final = r"(?<![a-z0-9_])task_\d{8}_\d{3,6}(?![0-9])"
"""Task ids the customer may quote (``TASK_20260227_001``), matched on lower-cased text."""

PICTURE_MARKER: Final = "[客户发来图片"
"""Start of the line the handler appends to a turn with pictures: ``[客户发来图片 ×1]``."""
