"""Speaker labels shared by every reader (the readers live in tonecheck.batch.readers)."""
from __future__ import annotations

AGENT_LABELS = ("坐席", "客服", "催收员", "外访员", "催收", "agent", "A")
CUSTOMER_LABELS = ("客户", "用户", "债务人", "customer", "B")


class ReadError(ValueError):
    """A file could not be read as a conversation; the message is one line."""
