"""IncrementalSum: a conversation's count kept up to date, recounting only what changed."""

from __future__ import annotations

from forgeline.domain.messages import Message
from forgeline.llm.tokens import IncrementalSum, message_tokens


def test_counts_only_new_messages_and_notices_replacements() -> None:
    counted: list[str] = []

    def value(message: Message) -> int:
        counted.append(message.text)
        return message_tokens(message)

    tally = IncrementalSum(value)
    messages = [Message(role="user", text=f"m{i}" * (i + 1)) for i in range(5)]
    assert tally.total(messages) == sum(message_tokens(m) for m in messages)
    messages.append(Message(role="assistant", text="new"))
    counted.clear()
    assert tally.total(messages) == sum(message_tokens(m) for m in messages)
    assert counted == ["new"]  # the five earlier messages were not counted again
    messages[2] = messages[2].model_copy(update={"text": "cleared"})  # a cleared result
    counted.clear()
    assert tally.total(messages) == sum(message_tokens(m) for m in messages)
    assert counted == ["cleared", messages[3].text, messages[4].text, "new"]
    messages[1] = messages[1].model_copy()  # an equal copy counts the same
    assert tally.total(messages) == sum(message_tokens(m) for m in messages)
    shorter = [messages[0], Message(role="user", text="summary")]  # a compaction
    assert tally.total(shorter) == sum(message_tokens(m) for m in shorter)
    assert tally.total([]) == 0


def test_message_tokens_is_counted_once_per_message_object() -> None:
    import gc

    from forgeline.domain.messages import ToolCall
    from forgeline.llm import tokens

    call = ToolCall(id="c1", name="Bash", input={"command": "x" * 400})
    message = Message(role="assistant", text="hi", tool_calls=[call])
    first = message_tokens(message)
    assert first == tokens.text_tokens(2 + 4 + len('{"command":"' + "x" * 400 + '"}')) + 16
    assert id(message) in tokens._COUNTED
    copy = message.model_copy(update={"tool_calls": []})  # a replaced message: counted anew
    assert message_tokens(copy) == tokens.text_tokens(2) + tokens.MESSAGE_OVERHEAD
    assert message_tokens(message) == first
    key = id(message)
    del message
    gc.collect()
    assert key not in tokens._COUNTED  # forgotten with the message
