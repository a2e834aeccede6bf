"""Signing the messages a service hands back to its own queue.

A service puts messages back on its own queue through its dead letter exchange: a
delayed retry when the retry queue's time is up, or a dead letter an operator
replays. The broker user that does so is the service's own, so the original
producer travels in a header, and a header anyone with that user's password could
write. The service signs what it hands back (HMAC-SHA256 over the message id, the
original producer's user and the body, with `CONVENE_HANDBACK_KEY`), and trusts a
handed-back message's producer only when the signature matches.
"""

import hashlib
import hmac

ORIGINAL_USER = "x-convene-original-user-id"
SIGNATURE = "x-convene-signature"


def signature(key: bytes, body: bytes, message_id: str | None, original_user: str) -> str:
    """The signature of a handed-back message."""
    digest = hmac.new(key, digestmod=hashlib.sha256)
    for part in ((message_id or "").encode(), original_user.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def verified_sender(
    key: bytes | None, body: bytes, message_id: str | None, headers: dict[str, object]
) -> str | None:
    """The original producer's user of a handed-back message, or None when its signature
    is missing or wrong (or there is no key to check it with)."""
    claimed, signed = headers.get(ORIGINAL_USER), headers.get(SIGNATURE)
    if key is None or not isinstance(claimed, str) or not isinstance(signed, str):
        return None
    expected = signature(key, body, message_id, claimed)
    return claimed if hmac.compare_digest(expected, signed) else None
