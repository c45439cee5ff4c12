"""What the snippet endpoint answers: the HTML to paste, the script it loads and the sites allowed to send."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field

from leadflow.kit.schemas import OutputSchema

WRITE_KEY_PLACEHOLDER = "YOUR-WRITE-KEY"


class ScriptInfo(BaseModel):
    url: str = Field(
        description="Short-cached URL (revalidated by ETag): the one sites should embed.",
        examples=["https://acme.leadflow.app/t.js"],
    )
    versioned_url: str = Field(
        description="Immutable URL of this exact build (cached for a year); it does not pick up updates.",
        examples=["https://acme.leadflow.app/t/5d41402abc4b2a76.js"],
    )
    version: str = Field(description="Library version sent in `context.library.version`.", examples=["1.0.0"])
    hash: str = Field(
        description="Content hash of the served script, used as ETag and in the versioned URL.",
        examples=["5d41402abc4b2a76"],
    )
    size_bytes: int = Field(description="Size of the served script.", examples=[9840])
    gzip_bytes: int = Field(description="Size on the wire when the browser accepts gzip.", examples=[3790])


class WriteKeySite(OutputSchema):
    """A live write key: the secret is hashed at rest, so only its prefix can be shown."""

    id: uuid.UUID
    name: str = Field(examples=["Site institucional"])
    prefix: str = Field(examples=["lf_wk_3kQ9"])
    allowed_origins: list[str] = Field(
        description="Origins allowed to send with this key; empty means any origin.",
        examples=[["https://www.imobiliaria-exemplo.com.br"]],
    )


class TrackingSnippet(BaseModel):
    html: str = Field(
        description="Paste before `</head>` on every page of the site.",
        examples=[
            "<!-- leadflow t.js 1.0.0 -->\n<script>window.leadflow=window.leadflow||{_q:[]};…</script>\n"
            '<script async src="https://acme.leadflow.app/t.js" data-write-key="YOUR-WRITE-KEY"></script>'
        ],
    )
    write_key: str | None = Field(
        description=f"The write key written into the snippet; null when it holds the {WRITE_KEY_PLACEHOLDER} "
        "placeholder (pass `write_key` to fill it in).",
        examples=[None],
    )
    consent_required: bool = Field(description="Whether the snippet waits for `leadflow.consent(true)`.")
    script: ScriptInfo
    allowed_origins: list[str] = Field(
        description="Every origin listed by a live write key of the tenant.",
        examples=[["https://www.imobiliaria-exemplo.com.br", "https://lancamentos.imobiliaria-exemplo.com.br"]],
    )
    write_keys: list[WriteKeySite]
