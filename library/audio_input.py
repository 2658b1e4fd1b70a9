"""``AudioInput``: the one way every tool takes audio (library id, allowed path, URL or base64)."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlparse

import httpx
import numpy as np
from pydantic import BaseModel, Field, field_validator, model_validator

from .audio_io import Audio, decode, resample
from .config import Config
from .errors import AudioInputError
from .store import SoundLibrary

URL_TIMEOUT_S = 20.0
MAX_REDIRECTS = 5
MAX_PATH_CHARS = 4096
MAX_URL_CHARS = 2048


class AudioInput(BaseModel):
    """Exactly one of: sound_id, path, url, base64."""

    sound_id: str | None = Field(None, description="ID of a sound already in the library.")
    path: str | None = Field(None, description="Local file under an allowed folder (LSTMABAR_ALLOWED_DIRS).")
    url: str | None = Field(None, description="http(s) URL of an audio file (public addresses only).")
    base64: str | None = Field(None, description="The bytes of an audio file, base64-encoded.")

    @field_validator("path")
    @classmethod
    def _plain_path(cls, v: str | None) -> str | None:
        if v is not None and "\x00" in v:
            raise ValueError("path must not contain a NUL character; give the file's path as plain text")
        if v is not None and len(v) > MAX_PATH_CHARS:
            raise ValueError(f"path is longer than {MAX_PATH_CHARS} characters")
        return v

    @field_validator("url")
    @classmethod
    def _plain_url(cls, v: str | None) -> str | None:
        if v is not None and any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in v):
            raise ValueError("url must not contain spaces or control characters; percent-encode them")
        if v is not None and len(v) > MAX_URL_CHARS:
            raise ValueError(f"url is longer than {MAX_URL_CHARS} characters")
        return v

    @model_validator(mode="after")
    def _exactly_one(self) -> "AudioInput":
        given = [k for k in ("sound_id", "path", "url", "base64") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError(
                "Give exactly one of sound_id, path, url or base64 "
                f"(got {', '.join(given) if given else 'none'})."
            )
        return self

    def describe(self) -> str:
        if self.sound_id:
            return f"sound {self.sound_id}"
        if self.path:
            return f"file {self.path}"
        if self.url:
            return f"URL {self.url}"
        return "uploaded audio"


@dataclass(frozen=True)
class LoadedAudio:
    audio: Audio
    sound_id: str | None  # set when the audio came from the library
    label: str


def load_audio_input(
    inp: AudioInput,
    library: SoundLibrary,
    config: Config,
    *,
    sample_rate: int | None = None,
    mono: bool = False,
    max_seconds: float | None = None,
) -> LoadedAudio:
    """Resolve, fetch, decode and check; optionally mix to mono and resample."""
    limit = min(max_seconds or config.max_audio_seconds, config.max_audio_seconds)
    if inp.sound_id:
        audio = library.read(inp.sound_id)
        if audio.duration > limit:
            raise AudioInputError(f"Sound {inp.sound_id} lasts {audio.duration:.1f} s; this tool takes at most {limit:.0f} s.")
    elif inp.path:
        audio = decode(_read_allowed_path(inp.path, config), max_seconds=limit)
    elif inp.url:
        audio = decode(fetch_url(inp.url, max_bytes=config.max_upload_bytes), max_seconds=limit)
    else:
        audio = decode(_decode_base64(inp.base64 or "", config.max_upload_bytes), max_seconds=limit)
    samples = audio.samples
    if mono and samples.shape[0] > 1:
        samples = samples.mean(axis=0, keepdims=True)
    sr = audio.sample_rate
    if sample_rate and sample_rate != sr:
        samples, sr = resample(samples, sr, sample_rate), sample_rate
    return LoadedAudio(Audio(np.ascontiguousarray(samples, dtype=np.float32), sr), inp.sound_id, inp.describe())


def _read_allowed_path(raw: str, config: Config) -> bytes:
    try:
        path = Path(raw).expanduser().resolve(strict=True)
    except (FileNotFoundError, RuntimeError, OSError) as exc:
        raise AudioInputError(f"No file at {raw!r}. Give an existing file under an allowed folder.") from exc
    allowed = config.effective_allowed_dirs
    if not any(path.is_relative_to(d) for d in allowed):
        raise AudioInputError(
            f"{raw!r} is outside the folders this server may read ({', '.join(map(str, allowed))}). "
            "Copy it into one of them, upload it as base64, or set LSTMABAR_ALLOWED_DIRS."
        )
    if not path.is_file():
        raise AudioInputError(f"{raw!r} is not a regular file.")
    if path.stat().st_size > config.max_upload_bytes:
        raise AudioInputError(f"{raw!r} is larger than {config.max_upload_bytes // 2**20} MiB; trim or compress it.")
    return path.read_bytes()


def base64_chars(n_bytes: int) -> int:
    """Length of ``n_bytes`` bytes as padded base64 (the HTTP body limit is sized from it too)."""
    return 4 * -(-n_bytes // 3)


def _decode_base64(data: str, max_bytes: int) -> bytes:
    if len(data) > base64_chars(max_bytes) + 8:
        raise AudioInputError(f"The base64 audio is larger than {max_bytes // 2**20} MiB; send a shorter clip.")
    if data.startswith("data:") and "," in data:
        data = data.split(",", 1)[1]
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise AudioInputError("The base64 field is not valid base64. Encode the file's bytes with standard base64.") from exc


def _check_public_host(host: str, port: int) -> None:
    """Refuse loopback, private, link-local, multicast, reserved and metadata addresses."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise AudioInputError(f"Cannot resolve host {host!r}. Check the URL.") from exc
    for info in infos:
        ip = ipaddress.ip_address(info[4][0].split("%")[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        if not ip.is_global or ip.is_multicast:
            raise AudioInputError(
                f"Refusing to fetch from {host} ({ip}): it is not a public address. "
                "Upload the file as base64 or put it under an allowed folder."
            )


def fetch_url(url: str, *, max_bytes: int, transport: httpx.BaseTransport | None = None) -> bytes:
    """GET with a timeout and a streaming size cap, checking the address on every redirect hop."""
    current = url
    with httpx.Client(timeout=URL_TIMEOUT_S, follow_redirects=False, transport=transport) as client:
        for _ in range(MAX_REDIRECTS + 1):
            try:  # a malformed address (bad IPv6 brackets, port, a host label over 63 characters)
                parsed = urlparse(current)
                host, port = parsed.hostname, parsed.port
                if host:
                    host.encode("idna")
            except (ValueError, UnicodeError) as exc:
                raise AudioInputError(f"{current[:200]!r} is not a valid URL ({exc}). Check it, or upload the file as base64.") from exc
            if parsed.scheme not in {"http", "https"} or not host:
                raise AudioInputError(f"Only http(s) URLs are accepted, got {current!r}.")
            _check_public_host(host, port or (443 if parsed.scheme == "https" else 80))
            try:
                with client.stream("GET", current) as resp:
                    if resp.is_redirect:
                        current = urljoin(current, resp.headers.get("location", ""))
                        continue
                    if resp.status_code != 200:
                        raise AudioInputError(f"The URL answered HTTP {resp.status_code}; check it is a direct link to a file.")
                    declared = int(resp.headers.get("content-length") or 0)
                    if declared > max_bytes:
                        raise AudioInputError(f"The file at the URL is {declared // 2**20} MiB; the limit is {max_bytes // 2**20} MiB.")
                    chunks, total = [], 0
                    for chunk in resp.iter_bytes():
                        total += len(chunk)
                        if total > max_bytes:
                            raise AudioInputError(f"The file at the URL is larger than {max_bytes // 2**20} MiB.")
                        chunks.append(chunk)
                    return b"".join(chunks)
            except httpx.HTTPError as exc:
                raise AudioInputError(f"Could not fetch {current!r}: {exc.__class__.__name__}: {exc}") from exc
    raise AudioInputError(f"Too many redirects (more than {MAX_REDIRECTS}) from {url!r}.")
