"""A wallet's profile image and its NFT-style metadata, from what the analysis found.

- `prompt(profile)`: the text sent to an image model, from the typology axes, the cluster's
  profile and the anomaly band.
- `avatar_svg(profile)`: the local, deterministic picture (same wallet and typology, same bytes):
  the typology chooses palette and shapes, the address a symmetric 7x7 pattern.
- `openai_image(...)`: the OpenAI images API (any compatible server through `base_url`).
- `metadata(profile, image_url)`: name, description, image, attributes (each axis, cluster, band).
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from core.errors import AidropError

# The four typology axes (docs/synth.md): letter -> words.
AXES: dict[str, dict[str, str]] = {
    "focus": {"D": "DeFi", "N": "NFT", "G": "Gaming", "S": "Social", "U": "Mixed"},
    "pattern": {"T": "Trader", "H": "Holder"},
    "risk": {"A": "Aggressive", "S": "Safe"},
    "community": {"C": "Community", "I": "Individual"},
}
AXIS_ORDER = tuple(AXES)
PALETTES = {  # focus -> (background, primary, accent)
    "D": ("#0b1f3a", "#2f80ed", "#56ccf2"),
    "N": ("#2b0b3a", "#bb6bd9", "#f2c94c"),
    "G": ("#0b3a1f", "#27ae60", "#6fcf97"),
    "S": ("#3a2a0b", "#f2994a", "#f2c94c"),
    "U": ("#1f1f1f", "#828282", "#bdbdbd"),
}
BANDS = ("low", "elevated", "high")


class ImageUnavailable(AidropError, ConnectionError):
    """The image API did not answer or asked to slow down (transient: the job retries)."""

    code = "IMAGE_API_UNAVAILABLE"


class ImageRefused(AidropError):
    code = "IMAGE_API_REFUSED"


@dataclass
class Profile:
    """What the picture and the metadata are made of (one wallet after its analysis)."""

    address: str
    typology: str | None = None
    axes: list[dict[str, Any]] = field(default_factory=list)  # [{axis, value, probability}]
    cluster: int | None = None
    cluster_profile: dict[str, Any] = field(default_factory=dict)
    anomaly_score: float | None = None
    anomaly_flagged: bool | None = None

    @property
    def band(self) -> str:
        return anomaly_band(self.anomaly_score, self.anomaly_flagged)

    def axis_letters(self) -> dict[str, str]:
        """Axis name -> letter, from `axes` or else from the code (`D-T-A-C`)."""
        letters: dict[str, str] = {}
        for item in self.axes:
            name, value = str(item.get("axis", "")), str(item.get("value", ""))
            if name in AXES:
                letters[name] = _letter(name, value)
        if self.typology:
            for name, part in zip(AXIS_ORDER, self.typology.split("-"), strict=False):
                letters.setdefault(name, _letter(name, part))
        return letters


def _letter(axis: str, value: str) -> str:
    options = AXES[axis]
    if value in options:
        return value
    for letter, word in options.items():
        if word.lower() == value.lower():
            return letter
    return next(iter(options)) if axis != "focus" else "U"


def anomaly_band(score: float | None, flagged: bool | None) -> str:
    """low / elevated / high: flagged wallets are high; unflagged above 0.5 elevated."""
    if flagged:
        return "high"
    if score is not None and score >= 0.5:
        return "elevated"
    return "low"


def describe(profile: Profile) -> list[str]:
    letters = profile.axis_letters()
    return [AXES[a][letters[a]] for a in AXIS_ORDER if a in letters]


def prompt(profile: Profile) -> str:
    words = describe(profile)
    traits = ", ".join(w.lower() for w in words) or "an unclassified"
    parts = [
        f"A stylised square avatar for a blockchain wallet persona: {traits}.",
    ]
    cp = profile.cluster_profile or {}
    summary = cp.get("summary") or cp.get("label") or cp.get("name")
    if not summary and cp.get("traits"):  # ml/clusters.py: "feature: higher (x vs y overall)"
        summary = "; ".join(str(t).split(" (")[0] for t in cp["traits"][:2])
    if summary:
        parts.append(f"It belongs to a group of wallets described as: {summary}.")
    elif profile.cluster is not None:
        parts.append(f"It belongs to wallet cluster {profile.cluster}.")
    mood = {"low": "calm and trustworthy", "elevated": "alert", "high": "ominous, warning colours"}
    parts.append(f"Mood: {mood[profile.band]}. Flat vector art, bold geometric shapes, no text, no letters.")
    return " ".join(parts)


def _digest(profile: Profile) -> bytes:
    return hashlib.sha256(f"{profile.address}|{profile.typology or ''}".encode()).digest()


def avatar_svg(profile: Profile, size: int = 512) -> bytes:
    """A deterministic SVG avatar: palette from the focus, frame from pattern and risk, ring from
    community, a mirrored 7x7 pattern from the address, a red corner mark when flagged."""
    letters = profile.axis_letters()
    bg, primary, accent = PALETTES[letters.get("focus", "U")]
    digest = _digest(profile)
    cells = []
    unit = size / 10
    for row in range(7):
        for col in range(4):
            bit = digest[(row * 4 + col) % len(digest)] >> ((row + col) % 8) & 1
            if not bit:
                continue
            colour = primary if (digest[row] + col) % 3 else accent
            for c in {col, 6 - col}:
                x, y = unit * (1.5 + c), unit * (1.5 + row)
                cells.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{unit:.1f}" height="{unit:.1f}" fill="{colour}"/>'
                )
    radius = size * (0.5 if letters.get("pattern") == "H" else 0.12)  # holders round, traders square
    dash = ' stroke-dasharray="18 10"' if letters.get("risk") == "A" else ""
    ring = ""
    if letters.get("community") == "C":
        ring = (
            f'<circle cx="{size / 2}" cy="{size / 2}" r="{size * 0.47:.1f}" fill="none" '
            f'stroke="{accent}" stroke-width="{size * 0.02:.1f}" stroke-opacity="0.7"/>'
        )
    mark = ""
    if profile.band != "low":
        colour = "#eb5757" if profile.band == "high" else "#f2c94c"
        mark = (
            f'<circle cx="{size * 0.86:.1f}" cy="{size * 0.14:.1f}" r="{size * 0.06:.1f}" fill="{colour}"/>'
        )
    title = " ".join(describe(profile)) or "wallet"
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" viewBox="0 0 {size} {size}">'
        f"<title>{title} {profile.address}</title>"
        f'<rect width="{size}" height="{size}" rx="{radius:.1f}" fill="{bg}"/>'
        f'<rect x="{size * 0.1:.1f}" y="{size * 0.1:.1f}" width="{size * 0.8:.1f}" height="{size * 0.8:.1f}" '
        f'rx="{radius * 0.8:.1f}" fill="none" stroke="{primary}" stroke-width="{size * 0.015:.1f}"{dash}/>'
        f"{ring}{''.join(cells)}{mark}</svg>"
    )
    return svg.encode()


async def openai_image(
    text: str, *, api_key: str, model: str, size: str, base_url: str = "", timeout: float = 120.0
) -> tuple[bytes, str]:
    """(image bytes, file extension) from the OpenAI images API or a compatible server."""
    import openai

    client = openai.AsyncOpenAI(api_key=api_key, base_url=base_url or None, timeout=timeout, max_retries=0)
    kwargs: dict[str, Any] = {"model": model, "prompt": text, "size": size, "n": 1}
    if model.startswith("dall-e"):
        kwargs["response_format"] = "b64_json"  # gpt-image models always answer in base64
    try:
        result = await client.images.generate(**kwargs)
    except (openai.APIConnectionError, openai.APITimeoutError, openai.RateLimitError,
            openai.InternalServerError) as exc:  # fmt: skip
        raise ImageUnavailable(f"OpenAI images API unavailable: {exc}") from exc
    except openai.APIStatusError as exc:
        raise ImageRefused(
            f"OpenAI images API refused the request ({exc.status_code}): {exc.message}"
        ) from exc
    finally:
        await client.close()
    if not result.data:
        raise ImageRefused("OpenAI images API answered without an image")
    item = result.data[0]
    if item.b64_json:
        data = base64.b64decode(item.b64_json)
    elif item.url:
        data = await _download(item.url, timeout)
    else:
        raise ImageRefused("OpenAI images API answered without b64_json or url")
    return data, _extension(data)


async def _download(url: str, timeout: float) -> bytes:
    import asyncio
    import urllib.request

    def fetch() -> bytes:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (API's own URL)
            return response.read()

    try:
        return await asyncio.to_thread(fetch)
    except OSError as exc:
        raise ImageUnavailable(f"could not download the generated image: {exc}") from exc


def _extension(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "png"
    if data[:3] == b"\xff\xd8\xff":
        return "jpg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data.lstrip()[:4] in (b"<svg", b"<?xm"):
        return "svg"
    return "png"


def metadata(profile: Profile, image_url: str, source: str) -> dict[str, Any]:
    """NFT-style metadata (the OpenSea / ERC-721 metadata JSON shape)."""
    letters = profile.axis_letters()
    probabilities = {str(a.get("axis")): a.get("probability") for a in profile.axes}
    attributes: list[dict[str, Any]] = []
    for axis in AXIS_ORDER:
        if axis in letters:
            entry: dict[str, Any] = {"trait_type": axis, "value": AXES[axis][letters[axis]]}
            if probabilities.get(axis) is not None:
                entry["probability"] = round(float(probabilities[axis] or 0.0), 4)
            attributes.append(entry)
    if profile.typology:
        attributes.append({"trait_type": "typology", "value": profile.typology})
    if profile.cluster is not None:
        attributes.append({"trait_type": "cluster", "value": str(profile.cluster)})
    attributes.append({"trait_type": "anomaly band", "value": profile.band})
    if profile.anomaly_score is not None:
        attributes.append({"trait_type": "anomaly score", "value": round(float(profile.anomaly_score), 4),
                           "display_type": "number"})  # fmt: skip
    words = " ".join(describe(profile)) or "Unclassified"
    short = f"{profile.address[:6]}…{profile.address[-4:]}"
    return {
        "name": f"{words} {short}",
        "description": (
            f"aidrop profile of wallet {profile.address}: {words.lower()}"
            + (f", cluster {profile.cluster}" if profile.cluster is not None else "")
            + f", anomaly band {profile.band}."
        ),
        "image": image_url,
        "external_url": None,
        "attributes": attributes,
        "properties": {"address": profile.address, "image_source": source},
    }


def metadata_bytes(meta: dict[str, Any]) -> bytes:
    return json.dumps({k: v for k, v in meta.items() if v is not None}, indent=2, ensure_ascii=False).encode()
