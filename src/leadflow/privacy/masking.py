"""How personal documents are shown: a CPF is masked (``***.456.789-**``) unless an owner or a manager asks to
reveal it, and every reveal is audited (LGPD art. 46, ASVS V8). A CNPJ identifies a company, not a natural person,
and is shown in full."""

from __future__ import annotations

from leadflow.kit.scope import Scope

CPF_DIGITS = 11
REVEALING_ROLES = frozenset({"owner", "manager"})
REVEAL_KEY_SCOPE = "admin"


def mask_cpf(document: str | None) -> str | None:
    """``52998224725`` → ``***.982.247-**``: the middle six digits, enough to tell two clients apart on a call."""
    if document is None or len(document) != CPF_DIGITS:
        return document
    return f"***.{document[3:6]}.{document[6:9]}-**"


def may_reveal(scope: Scope) -> bool:
    if scope.actor_type == "api_key":
        return REVEAL_KEY_SCOPE in scope.key_scopes
    return scope.role in REVEALING_ROLES
