"""Messages for the native codec's tests: built with the codec, plus bytes captured from Handle.Net."""

from __future__ import annotations

from registry.codec import native

# Handle.Net 9.2's client resolving 0.NA/20.5000 over TCP (NATIVE-PROTOCOL.md §7), 72 bytes.
HANDLE_NET_RESOLUTION = bytes.fromhex(
    "0203020b0000000012afb7090000000000000034"
    "00000001000000001900000 0ffff00006b12806400000018".replace(" ", "")
) + (b"\x00\x00\x00\x0c0.NA/20.5000" + bytes(8) + bytes(4))


def request(
    opcode: int,
    body: bytes,
    *,
    flags: int = 0,
    request_id: int = 7,
    session_id: int = 0,
    version: tuple[int, int] = (2, 10),
) -> bytes:
    """A whole request as a client sends it on TCP: envelope, header, body, empty credential."""
    header = native.Header(opcode, flags=flags, expiration=native.expiry())
    message = native.encode_message(header, body)
    envelope = native.Envelope(
        version[0], version[1], 2, 11, session_id, request_id, 0, len(message)
    )
    return envelope.encode() + message


def resolution_request(handle: str, **kwargs: object) -> bytes:
    body = native.encode_resolution_request(native.ResolutionRequest(handle.encode()))
    return request(native.OpCode.RESOLUTION, body, **kwargs)  # type: ignore[arg-type]
