"""The bad-input corpus: every case is a clear tool error, the server keeps serving, and the library
is unchanged."""

from __future__ import annotations

import base64
import io
import socket
import struct
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile as sf
from mcp import Client

from lstmabar.library.audio_input import fetch_url
from lstmabar.library.errors import AudioInputError

pytestmark = pytest.mark.anyio


def wav_bytes(x: np.ndarray, sr: int, fmt: str = "WAV", subtype: str = "PCM_16") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, x, sr, format=fmt, subtype=subtype)
    return buf.getvalue()


def good_wav() -> bytes:
    t = np.arange(8000) / 16000
    return wav_bytes(0.3 * np.sin(2 * np.pi * 440 * t), 16000)


def float_wav_with_nan() -> bytes:
    x = np.zeros(1000, np.float32)
    x[100] = np.nan
    return wav_bytes(x, 16000, subtype="FLOAT")


def absurd_rate_wav() -> bytes:
    data = bytearray(good_wav())
    struct.pack_into("<I", data, 24, 2_000_000)  # sample rate field of the fmt chunk
    return bytes(data)


def many_channels_wav() -> bytes:
    return wav_bytes(np.zeros((100, 24), np.float32), 16000, subtype="FLOAT")


def hours_long_flac() -> bytes:
    return wav_bytes(np.zeros(8000 * 3 * 3600, np.int16), 8000, fmt="FLAC")  # 3 h of silence, compresses small


CASES = {
    "truncated": lambda: good_wav()[:30],
    "not_audio": lambda: b"%PDF-1.4 this is not a sound file at all" * 10,
    "zero_length_file": lambda: b"",
    "zero_samples": lambda: wav_bytes(np.zeros(0, np.float32), 16000),
    "nan_samples": float_wav_with_nan,
    "absurd_sample_rate": absurd_rate_wav,
    "dozens_of_channels": many_channels_wav,
    "multi_hour": hours_long_flac,
}


@pytest.fixture(scope="module")
def corpus() -> dict[str, bytes]:
    return {k: f() for k, f in CASES.items()}


async def _library_state(server) -> tuple[int, list[str]]:
    lib = server.state.library
    return lib.count(), sorted(p.name for p in lib.sounds_dir.iterdir())


@pytest.mark.parametrize("case", sorted(CASES))
async def test_bad_audio_base64(server, corpus, case: str) -> None:
    async with Client(server) as client:
        before = await _library_state(server)
        res = await client.call_tool(
            "import_sound", {"audio": {"base64": base64.b64encode(corpus[case]).decode()}}
        )
        assert res.is_error, case
        text = res.content[0].text
        assert len(text) > 20 and "Traceback" not in text
        assert await _library_state(server) == before
        ok = await client.call_tool("import_sound", {"audio": {"base64": base64.b64encode(good_wav()).decode()}})
        assert not ok.is_error, ok.content[0].text


@pytest.mark.parametrize("case", ["truncated", "not_audio", "nan_samples", "multi_hour"])
async def test_bad_audio_from_path(server, corpus, tmp_path: Path, case: str) -> None:
    p = tmp_path / f"{case}.wav"
    p.write_bytes(corpus[case])
    async with Client(server) as client:
        before = await _library_state(server)
        res = await client.call_tool("import_sound", {"audio": {"path": str(p)}})
        assert res.is_error
        assert await _library_state(server) == before


async def test_path_outside_allowed_dirs(server, tmp_path: Path) -> None:
    async with Client(server) as client:
        res = await client.call_tool("import_sound", {"audio": {"path": "/etc/passwd"}})
        assert res.is_error and "outside the folders" in res.content[0].text
        link = tmp_path / "sneaky.wav"
        link.symlink_to("/etc/hostname")
        res = await client.call_tool("import_sound", {"audio": {"path": str(link)}})
        assert res.is_error and "outside the folders" in res.content[0].text
        res = await client.call_tool("import_sound", {"audio": {"path": str(tmp_path / ".." / ".." / "etc" / "passwd")}})
        assert res.is_error
        res = await client.call_tool("import_sound", {"audio": {"path": str(tmp_path / "missing.wav")}})
        assert res.is_error and "No file" in res.content[0].text
        assert server.state.library.count() == 0


async def test_input_shape_errors(server) -> None:
    async with Client(server) as client:
        res = await client.call_tool("import_sound", {"audio": {}})
        assert res.is_error and "exactly one" in res.content[0].text
        res = await client.call_tool("import_sound", {"audio": {"path": "a.wav", "url": "http://x/a.wav"}})
        assert res.is_error and "exactly one" in res.content[0].text
        res = await client.call_tool("import_sound", {"audio": {"base64": "not base64!!"}})
        assert res.is_error and "base64" in res.content[0].text
        res = await client.call_tool("rate_feedback", {"sound_id": "snd_nope", "rating": 3})
        assert res.is_error and "list_sounds" in res.content[0].text
        assert server.state.library.count() == 0 and server.state.library.feedback_count() == 0


# ------------------------------------------------------------------------- URLs


@pytest.fixture()
def fake_dns(monkeypatch: pytest.MonkeyPatch):
    table = {
        "public.example": "93.184.216.34",
        "evil.example": "127.0.0.1",
        "metadata.example": "169.254.169.254",
        "intranet.example": "10.1.2.3",
        "v6.example": "::1",
    }
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *a, **k):
        if host in table:
            ip = table[host]
            fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
            return [(fam, socket.SOCK_STREAM, 6, "", (ip, port))]
        return real(host, port, *a, **k)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.mark.parametrize("host", ["evil.example", "metadata.example", "intranet.example", "v6.example", "127.0.0.1", "169.254.169.254"])
def test_url_to_non_public_address_refused(fake_dns, host: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:  # must never be reached
        raise AssertionError("request was sent")

    with pytest.raises(AudioInputError, match="not a public address"):
        fetch_url(f"http://{host}/a.wav", max_bytes=10_000, transport=httpx.MockTransport(handler))


def test_redirect_to_private_address_refused(fake_dns) -> None:
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.host)
        return httpx.Response(302, headers={"location": "http://metadata.example/latest/meta-data"})

    with pytest.raises(AudioInputError, match="not a public address"):
        fetch_url("http://public.example/a.wav", max_bytes=10_000, transport=httpx.MockTransport(handler))
    assert seen == ["public.example"]


def test_url_size_cap_while_streaming(fake_dns) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=iter([b"x" * 4096] * 10))  # no content-length

    with pytest.raises(AudioInputError, match="larger than"):
        fetch_url("http://public.example/big.wav", max_bytes=10_000, transport=httpx.MockTransport(handler))


def test_url_fetch_ok_and_http_errors(fake_dns) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/missing.wav":
            return httpx.Response(404)
        return httpx.Response(200, content=good_wav())

    assert fetch_url("http://public.example/a.wav", max_bytes=10**6, transport=httpx.MockTransport(handler)) == good_wav()
    with pytest.raises(AudioInputError, match="HTTP 404"):
        fetch_url("http://public.example/missing.wav", max_bytes=10**6, transport=httpx.MockTransport(handler))
    with pytest.raises(AudioInputError, match="http"):
        fetch_url("file:///etc/passwd", max_bytes=10**6)


async def test_import_unknown_sound_id_says_it_does_not_exist(server) -> None:
    async with Client(server) as client:
        res = await client.call_tool("import_sound", {"audio": {"sound_id": "snd_0000000000deadbeef00"}})
        text = res.content[0].text
        assert res.is_error and "No sound with id 'snd_0000000000deadbeef00'" in text and "list_sounds" in text, text
        assert "already in the library" not in text
        ok = await client.call_tool("import_sound", {"audio": {"base64": base64.b64encode(good_wav()).decode()}})
        sid = ok.structured_content["sound"]["id"]
        res = await client.call_tool("import_sound", {"audio": {"sound_id": sid}})
        assert res.is_error and "already in the library" in res.content[0].text
        assert server.state.library.count() == 1


async def test_request_id_reused_for_another_sound(server) -> None:
    lib = server.state.library
    a, b = (lib.add(np.zeros(4800, np.float32) + 0.1 * k, 48_000, tool="test").id for k in (1, 2))
    async with Client(server) as client:
        first = await client.call_tool("rate_feedback", {"sound_id": a, "rating": 4, "request_id": "q1"})
        assert not first.is_error and first.structured_content["created"] is True
        res = await client.call_tool("rate_feedback", {"sound_id": b, "rating": 4, "request_id": "q1"})
        assert res.is_error and f"already used for feedback on another sound ({a})" in res.content[0].text
        again = await client.call_tool("rate_feedback", {"sound_id": a, "rating": 4, "request_id": "q1"})
        assert not again.is_error and again.structured_content["created"] is False
    assert [f.sound_id for f in lib.feedback()] == [a]


# ------------------------------------------------------- boundary values (issue 14 item 8)
SEED_WORDS = "seed must be an integer from 0 to 4294967295"
SMALL_SYNTH = {"population": 8, "max_evaluations": 16, "max_seconds": None, "patience": None, "seconds": 0.5}
BOUNDARY_CASES = [
    ("import_sound", {"audio": {"path": "/tmp/a\x00b.wav"}}, "path must not contain a NUL character"),
    ("describe_sound", {"audio": {"path": "\x00"}}, "path must not contain a NUL character"),
    ("import_sound", {"audio": {"path": "/tmp/" + "x" * 5000}}, "path is longer than 4096 characters"),
    ("import_sound", {"audio": {"url": "http://[::1/a.wav"}}, "is not a valid URL"),
    ("import_sound", {"audio": {"url": "http://" + "a" * 300 + ".example/a.wav"}}, "is not a valid URL"),
    ("import_sound", {"audio": {"url": "http://exa\x00mple.com/a.wav"}}, "url must not contain"),
    ("predict_archetypes", {"text": "warm pad", "render": True, "seed": 2**64}, SEED_WORDS),
    ("predict_archetypes", {"text": "warm pad", "render": True, "seed": -1}, SEED_WORDS),
    ("synthesize_from_text", {"prompt": "bell", "seed": 2**64, **SMALL_SYNTH}, SEED_WORDS),
    ("synthesize_from_text", {"prompt": "bell", "seed": 2**32, **SMALL_SYNTH}, SEED_WORDS),
    ("interpolate_sounds", {"a": "snd_a", "b": "snd_b", "seed": 2**64}, SEED_WORDS),
    ("optimize_fx", {"audio": {"sound_id": "snd_a"}, "prompt": "brighter", "seed": -1}, SEED_WORDS),
    ("match_sound", {"audio": {"sound_id": "snd_a"}, "seed": 2**64}, SEED_WORDS),
    ("list_sounds", {"offset": 2**63}, "offset"),
    ("start_job", {"tool": "synthesize_from_text", "arguments": {"prompt": "bell", "seed": 2**64}}, SEED_WORDS),
]


@pytest.mark.parametrize("name, args, words", BOUNDARY_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(BOUNDARY_CASES)])
async def test_boundary_values_get_clear_errors(server, name: str, args: dict, words: str) -> None:
    async with Client(server) as client:
        before = await _library_state(server)
        res = await client.call_tool(name, args)
        text = res.content[0].text
        assert res.is_error, text
        assert "unexpectedly" not in text and "Traceback" not in text, text
        assert words in text, text
        assert await _library_state(server) == before


async def test_seed_range_is_advertised(server) -> None:
    async with Client(server) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    for name in ("predict_archetypes", "synthesize_from_text", "interpolate_sounds", "optimize_fx", "match_sound"):
        seed = tools[name].input_schema["properties"]["seed"]
        assert (seed.get("minimum"), seed.get("maximum")) == (0, 2**32 - 1), (name, seed)
