"""The offline agent's phrase tables: what customers say, as data.

Every intent is a list of phrases; slots (size, colour, deadline) are patterns and word lists.
Adding a way of saying something is a change to a table here, never to the policy's code.
Chinese phrases match anywhere in the message; ASCII phrases match whole words.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from ai_cs.core.risk import ID_PHOTO_WORDS
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
    ASK_TIME = "ask_time"
    REFUND = "refund"
    CAPABILITY = "capability"
    FORMAT = "format"
    BATCH = "batch"
    ACK = "ack"
    INJECTION = "injection"
    HOW_TO_PAY = "how_to_pay"
    CANCEL = "cancel"
    RETOUCH = "retouch"


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
        "早上好",
        "中午好",
        "下午好",
        "晚上好",
        "早安",
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
        "抠",
        "可以抠",
        "能抠",
        "扣一下",
        "扣个图",
        "扣掉",
        "扣成",
        "抠出来",
        "抠一下",
        "抠个",
        "背景不要",
        "不要背景",
        "背景去",
        "背景删",
        "背景p掉",
        "背景扣",
        "背景弄掉",
        "背景弄成",
        "背景换成",
        "背景改成",
        "把底去掉",
        "去底",
        "背景去除",
        "透明的",
        "主体",
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
        "remove the bg",
        "remove the background",
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
        "太糊",
        "糊了",
        "拍糊",
        "救救",
        "有点糊",
        "糊的",
        "弄清楚",
        "不清楚",
        "清楚些",
        "变高清",
        "分辨率",
        "像素太低",
        "老照片",
        "调亮",
        "提亮",
        "太暗",
        "有点暗",
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
        "描一下",
        "矢亮",
        "失量",
        "转曲",
        "无限放大",
        "vectorize",
        "vector",
    ),
    Intent.LAYERED: ("分层", "分个层", "psd", "图层", "layered", "layers", "layer"),
    Intent.ID_PHOTO: (
        *ID_PHOTO_WORDS,
        "换背景色",
        "蓝底照",
        "红底照",
        "白底照",
        "两寸",
        "小一寸",
        "大一寸",
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
        "改小",
        "缩小",
        "文件太大",
        "上传用",
        "传不上去",
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
        "找到这张",
        "大图",
        "高清版",
        "出处",
        "find image",
        "find the original",
        "original image",
        "find picture",
    ),
    Intent.CHANGE: (
        "改成",
        "换成",
        "改为",
        "改一下",
        "改下",
        "变成",
        "还是",
        "算了",
        "不要了",
        "换一下",
        "改主意",
        "想了想",
        "instead",
        "actually",
        "change to",
        "switch to",
    ),
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
        "收到了吗",
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
        "确认",
        "满意",
        "可以了",
        "没问题了",
        "很好",
        "效果不错",
        "不错",
        "挺好",
        "很棒",
        "完美",
        "收到了",
        "looks good",
        "satisfied",
        "confirm",
    ),
    Intent.REVISION: (
        "不太满意",
        "不大满意",
        "不怎么满意",
        "不是很满意",
        "没那么满意",
        "不太行",
        "不太好",
        "再改",
        "再修",
        "修一下",
        "再弄",
        "重新弄",
        "改一版",
        "改改",
        "没抠干净",
        "不干净",
        "缺了",
        "有白边",
        "白边",
        "调亮",
        "调暗",
        "偏暗",
        "偏亮",
        "不够平滑",
        "不够清楚",
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
    Intent.COMPLAINT: (
        "投诉",
        "差评",
        "举报",
        "骗子",
        "坑人",
        "搞什么",
        "成这样",
        "什么鬼",
        "垃圾",
        "太差",
        "太烂",
        "什么玩意",
        "气死",
        "失望",
        "敷衍",
        "锯齿",
        "毛刺",
        "complain",
        "complaint",
        "terrible",
    ),
    Intent.REFUND: ("退款", "退钱", "退给我", "能退吗", "怎么退", "refund", "money back"),
    Intent.ASK_TIME: (
        "发货",
        "什么时候发",
        "多久",
        "多长时间",
        "什么时候能",
        "几天",
        "几个小时",
        "来得及",
        "今天能",
        "今晚能",
        "明天能",
        "着急",
        "急用",
        "加急",
        "赶时间",
        "多快",
        "出图",
        "how long",
        "when ready",
    ),
    Intent.CAPABILITY: (
        "能做",
        "能不能",
        "可以做",
        "做不做",
        "做吗",
        "能做吗",
        "会吗",
        "会不会",
        "你们会",
        "能弄吗",
        "行不行",
        "会做",
        "能转",
        "能修",
        "能压缩",
        "能改",
        "可以吗",
        "能抠",
        "可以抠",
        "能出",
        "做不",
        "能不",
        "can you",
        "do you do",
        "do you",
    ),
    Intent.FORMAT: (
        "cdr",
        "coreldraw",
        "pdf",
        "eps",
        "ai格式",
        "ai文件",
        "ai矢量",
        "psd",
        "svg",
        "jpg",
        "jpeg",
        "png",
        "格式",
        "源文件",
    ),
    Intent.BATCH: ("批量", "量大", "一批", "打包价", "很多张", "好多张", "in bulk", "bulk"),
    Intent.ACK: (
        "好的",
        "好滴",
        "好嘞",
        "好吧",
        "行吧",
        "收到",
        "明白",
        "知道了",
        "嗯嗯",
        "ok",
        "okk",
        "okay",
        "👌",
    ),
    Intent.HOW_TO_PAY: (
        "怎么付款",
        "如何付款",
        "怎么付钱",
        "怎么拍",
        "拍哪个",
        "拍哪个链接",
        "怎么下单",
        "先做再付",
        "先做后付",
        "做完再付",
        "做好再付",
        "在哪付",
        "how to pay",
    ),
    Intent.CANCEL: (
        "取消订单",
        "取消吧",
        "不做了",
        "先不做",
        "不要做了",
        "晚点再说",
        "算了不做",
        "cancel",
    ),
    Intent.RETOUCH: (
        "路人",
        "祛痘",
        "痘痘",
        "磨皮",
        "瘦脸",
        "美颜",
        "美白",
        "换发型",
        "发型",
        "合成",
        "p掉",
        "精修",
        "换衣服",
        "加文字",
        "加字",
        "改字",
        "改文字",
        "换字",
        "字能改",
        "字改成",
        "文字改成",
        "修改文字",
        "p字",
        "上的文字",
        "字体改",
        "印t恤",
        "海报设计",
        "设计logo",
    ),
    Intent.INJECTION: (
        "忽略",
        "指令",
        "system",
        "系统通知",
        "管理员",
        "开发者模式",
        "ignore previous",
        "instructions",
        "其他客户",
        "别人的订单",
        "服从",
        "改成已完成",
        "改为已完成",
        "标记为已完成",
        "设为已完成",
        "改成完成",
        "状态改成",
        "改一下状态",
        "改状态",
    ),
    Intent.HUMAN: (
        "人工",
        "真人",
        "转客服",
        "找客服",
        "叫客服",
        "客服呢",
        "活人",
        "设计师",
        "修图师",
        "叫你们老板",
        "叫老板",
        "找个人",
        "和人说",
        "跟人说",
        "机器人",
        "人工客服",
        "开发票",
        "开票",
        "要发票",
        "开张发票",
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
        "付过了",
        "钱已经转",
        "付完款",
        "拍了付款",
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
        "便宜",
        "少5块",
        "砍价",
        "砍个价",
        "友情价",
        "打个折",
        "太贵",
        "这么贵",
        "好贵",
        "有点贵",
        "贵了",
        "能少",
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
    Intent.ENHANCE: Operation.ENHANCE,
    Intent.RESIZE: Operation.RESIZE_COMPRESS,
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

BACKGROUND_COLOURS: Final[dict[str, str]] = {
    "白": "white",
    "纯白": "white",
    "蓝": "blue",
    "红": "red",
    "灰": "grey",
    "黑": "#000000",
    "透明": "transparent",
    "white": "white",
    "blue": "blue",
    "red": "red",
    "grey": "grey",
    "gray": "grey",
    "black": "#000000",
    "transparent": "transparent",
}
"""Background colours as buyers name them → the ``background`` requirement (core/requirements)."""

BACKGROUND_PATTERNS: Final = (
    r"(纯白|白|蓝|红|灰|黑|透明)色?的?(?:底|背景)",
    r"(?:背景|底色|底)(?:色)?(?:要|换成|改成|换|改|弄成|做成|是|用|为)?(?:纯)?(纯白|白|蓝|红|灰|黑|透明)",
    r"(透明)(?:的|png)",
    r"(white|blue|red|grey|gray|black|transparent)\s*(?:background|bg)",
)
"""Where a colour names the background ("白底", "背景换成蓝色", "透明的"); "白边" does not."""

HEX_BACKGROUND: Final = r"#([0-9a-f]{6})\b"

FORMAT_WORDS: Final[dict[str, str]] = {
    "png": "png",
    "jpg": "jpg",
    "jpeg": "jpg",
    "svg": "svg",
    "pdf": "pdf",
    "eps": "eps",
    "psd": "psd",
    "ai格式": "eps",
    "ai文件": "eps",
    "ai矢量": "eps",
    "ai源文件": "eps",
}
"""Output formats → the ``format`` requirement; an Illustrator file is delivered as EPS."""

CDR_PATTERN: Final = r"cdr|coreldraw|corel"
"""CorelDRAW's own format, which the shop cannot write (SVG/PDF/EPS open in CorelDRAW)."""

PIXEL_SIZE_PATTERN: Final = (
    r"(?<![\d.])(\d{2,5})\s*(?:x|×|\*|乘|✖|✕)\s*(\d{2,5})(?![\d.])(?!\s*(?:cm|厘米|mm|毫米))"
)
WIDTH_HEIGHT_PATTERN: Final = r"宽\s*(\d{2,5})\s*(?:px|像素)?\s*[,，、]?\s*高\s*(\d{2,5})"
"""Pixels given as 宽413高626."""
SMALLEST_PIXELS: Final = 100
"""Below this on both sides a size is millimetres ("签证照 33*48"), not pixels."""
PRINT_SIZE_PATTERN: Final = r"(\d+(?:\.\d+)?)\s*(?:x|×|\*|乘)\s*(\d+(?:\.\d+)?)\s*(cm|厘米|mm|毫米)"
PHOTO_INCH_PATTERN: Final = r"(小一|大一|小二|一|二|两|1|2)\s*寸"
PRINT_INCH_PATTERN: Final = r"(?<![\d.])([3-9]|1[0-2]|[三四五六七八九]|十|十二)\s*寸"
PAPER_PATTERN: Final = r"(?<![a-z0-9])(a[3-6])(?![a-z0-9])"
DPI_PATTERN: Final = r"(\d{2,4})\s*dpi"
PICTURE_DECLINED: Final = ("不用了", "不要了", "不需要了", "取消", "不做", "先不用", "算了")
"""Words that turn down one numbered picture ("第二张不用了", "第一张先不做")."""

KB_RANGE_PATTERN: Final = (
    r"(\d{1,5})\s*(?:kb?|k|mb?|m|兆)?\s*(?:-|~|到|至|—)\s*(\d{1,5})\s*(kb?|k|mb?|m|兆)(?![a-z])"
)
KB_AMOUNT_PATTERN: Final = r"(\d{1,5}(?:\.\d+)?)\s*(kb?|k|mb?|m|兆)(?![a-z])"
"""A file size: "50kb", "200k", "1.5m", "2兆"; what bound it is, the words around it say."""
KB_NOT_OVER_PATTERN: Final = r"(?:不|别|勿|没)[能可得要用许]?\s*(?:超过|大于|高于|超出|多于)"
"""A negated "over" before the amount: "不能超过50kb", "别大于100k" are upper bounds."""
KB_MAX_CUES: Final = (
    "小于",
    "低于",
    "少于",
    "压到",
    "压缩到",
    "控制在",
    "最大",
    "最多",
    "上限",
    "<",
    "≤",
)
"""Words before an amount that make it an upper bound."""
KB_MIN_CUES: Final = (
    "以上",
    "大于",
    "超过",
    "高于",
    "不小于",
    "不低于",
    "至少",
    "最少",
    "最小",
    ">",
    "≥",
)
"""Words before (or, 以上, after) an amount that make it a lower bound."""
KB_MAX_AFTER: Final = ("以内", "以下", "之内", "内")
"""Words after an amount that make it an upper bound."""

DEADLINE_PATTERNS: Final = (
    r"\d{1,2}\s*(?:点|点钟|:\d\d)\s*(?:前|之前|以前)",
    r"(?:上午|中午|下午|晚上|今晚|明早|明天|今天)\s*\d{1,2}\s*点\s*(?:前|之前)?",
    r"\d{1,3}\s*(?:个)?\s*(?:小时|天|分钟)\s*(?:内|之内|以内)",
)
DEADLINE_WORDS: Final = (
    "今天之内",
    "今天下班前",
    "今天",
    "今晚",
    "明早",
    "明天早上",
    "明天",
    "后天",
    "这周",
    "周末",
    "尽快",
    "加急",
    "马上",
    "越快越好",
    "急用",
    "着急",
    "很急",
    "赶时间",
    "asap",
    "today",
    "tonight",
    "tomorrow",
)
"""Deadline words recorded as the ``deadline`` requirement."""

URGENT_WORDS: Final = ("急", "加急", "马上", "尽快", "赶时间", "越快越好", "asap", "urgent")

CHINESE_DIGITS: Final[dict[str, int]] = {
    "一": 1,
    "两": 2,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "十": 10,
    "百": 100,
    "千": 1000,
}
QUANTITY_PATTERN: Final = r"(\d{1,5}|[一两二三四五六七八九十百千]{1,5})\s*(?:张|幅|个图|套)"

PICTURE_REFERENCES: Final[dict[str, str]] = {
    "两张都": "all",
    "2张都": "all",
    "这两张": "all",
    "都要": "all",
    "全部": "all",
    "都帮": "all",
    "both": "all",
    "第一张": "1",
    "第1张": "1",
    "第二张": "2",
    "第2张": "2",
    "第三张": "3",
    "第3张": "3",
    "上一张": "previous",
    "前一张": "previous",
    "这张": "latest",
    "这个": "latest",
}
"""How a buyer points at pictures: 这张 = the latest, 两张都 = every picture of the last batch."""

MONEY_PATTERN: Final = r"\d+(?:\.\d+)?\s*(?:元|块|rmb|yuan)"
"""An amount of money; with a change request it is a price change request."""
PRICE_OFFER_PATTERN: Final = (
    r"(?<![\d.x×*])\d{1,4}(?:\.\d+)?\s*(?:元|块|rmb)?\s*"
    r"(?:行不行|行吗|行么|可以吗|可以不|可不可以|成吗|成不成|好不好|好吗|卖吗|出吗|吧)"
)
"""A price the buyer offers: "两张一起50行不行", "给个30吧", "20块行吗"."""

TASK_ID_PATTERN: Final = r"(?<![a-z0-9_])task_\d{8}_\d{3,6}(?![0-9])"
"""Task ids the customer may quote (``TASK_20260227_001``), matched on lower-cased text."""

PICTURE_MARKER: Final = "[客户发来图片"
"""Start of the line the handler appends to a turn with pictures: ``[客户发来图片 ×1]``."""
