"""Issued credentials are sound JSON-LD under the pinned VC 2.0 and Open Badges 3.0 contexts.

Expansion runs offline: the document loader serves tests/data/openbadges and refuses anything else.
Every term must expand to an IRI of a published vocabulary: none dropped, and none caught by the VC
context's ``@vocab`` (``issuer-dependent#``), which is where an undefined term lands when the context
carries that fallback (the published VC 2.0 context does; it would otherwise hide a typo).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from pyld import jsonld

from microcred.badges import OB_CONTEXT, VC_CONTEXT, BadgeIssuer, credential_of
from microcred.db import SessionFactory
from microcred.models import Badge
from tests.badges.conftest import approve, issue

PINNED = Path(__file__).resolve().parent.parent / "data" / "openbadges"
FILES = {VC_CONTEXT: "credentials-v2.jsonld", OB_CONTEXT: "context-3.0.3.json"}
ISSUER_DEPENDENT = "https://www.w3.org/ns/credentials/issuer-dependent#"
# pyld resolves a term it cannot expand against the document base (a placeholder when there is
# none); a base of our own makes such relative IRIs recognisable.
UNRESOLVED = "https://unresolved-relative-iri.invalid/"
OB = "https://purl.imsglobal.org/spec/vc/ob/vocab.html#"
CRED = "https://www.w3.org/2018/credentials#"

Loader = Callable[[str, Any], dict[str, Any]]


def pinned(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((PINNED / name).read_text())
    return document


def offline_loader(url: str, options: Any = None) -> dict[str, Any]:
    if url not in FILES:
        raise jsonld.JsonLdError(f"offline: refusing to load {url}", "jsonld.LoadDocumentError")
    return {"contextUrl": None, "documentUrl": url, "document": pinned(FILES[url])}


def iris(node: Any) -> Iterator[str]:
    """Every property, type and node IRI of an expanded document."""
    if isinstance(node, list):
        for item in node:
            yield from iris(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "@type" and "@value" not in node:
                yield from value
            elif key in ("@type", "@id"):
                yield value
            elif not key.startswith("@"):
                yield key
            yield from iris(value)


def expand(document: dict[str, Any], loader: Loader = offline_loader, **handlers: Any) -> list[Any]:
    expanded: list[Any] = jsonld.expand(document, {"documentLoader": loader, "base": UNRESOLVED}, **handlers)
    return expanded


def problems(document: dict[str, Any], loader: Loader = offline_loader) -> list[str]:
    """What is wrong with ``document`` as JSON-LD: dropped, relative or issuer-dependent terms."""
    dropped: list[str | None] = []
    expanded = expand(document, loader, on_property_dropped=dropped.append)
    found = [f"dropped: {term}" for term in dropped]
    for iri in iris(expanded):
        if not urlsplit(iri).scheme or iri.startswith(UNRESOLVED):
            found.append(f"not an absolute IRI: {iri}")
        elif iri.startswith(ISSUER_DEPENDENT):
            found.append(f"undefined term, issuer-dependent: {iri}")
    return found


def single(value: Any) -> Any:
    """Compaction writes one-element arrays as their element; compare documents modulo that."""
    if isinstance(value, list):
        items = [single(v) for v in value]
        return items[0] if len(items) == 1 else items
    if isinstance(value, dict):
        return {k: single(v) for k, v in value.items()}
    return value


def keys(value: Any, path: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    found: set[tuple[str, ...]] = set()
    if isinstance(value, list):
        for item in value:
            found |= keys(item, path)
    elif isinstance(value, dict):
        for k, v in value.items():
            found.add((*path, k))
            found |= keys(v, (*path, k))
    return found


@pytest.fixture(scope="module")
def credential(sqlite_sessions: SessionFactory, issuer: BadgeIssuer) -> dict[str, Any]:
    """A credential issued by the real activity, as the JWT carries it."""
    badge_id = issue(sqlite_sessions, issuer, approve(sqlite_sessions))
    with sqlite_sessions() as session:
        badge = session.get(Badge, badge_id)
        assert badge is not None
    assert credential_of(badge.jwt) == badge.document
    return credential_of(badge.jwt)


def test_the_pinned_contexts_are_the_ones_a_badge_names(credential: dict[str, Any]) -> None:
    assert credential["@context"] == [VC_CONTEXT, OB_CONTEXT]
    assert set(FILES) == set(credential["@context"])
    assert "VerifiableCredential" in pinned(FILES[VC_CONTEXT])["@context"]
    assert "OpenBadgeCredential" in pinned(FILES[OB_CONTEXT])["@context"]


def test_every_term_expands_to_a_published_vocabulary(credential: dict[str, Any]) -> None:
    assert problems(credential) == []
    expanded = set(iris(expand(credential)))
    expected = {
        CRED + "VerifiableCredential",
        OB + "OpenBadgeCredential",
        CRED + "issuer",
        OB + "Profile",
        CRED + "validFrom",
        "https://schema.org/name",
        CRED + "credentialSubject",
        OB + "AchievementSubject",
        OB + "identifier",
        OB + "IdentityObject",
        OB + "identityHash",
        OB + "identityType",
        OB + "hashed",
        OB + "salt",
        OB + "achievement",
        OB + "Achievement",
        OB + "Criteria",
        OB + "narrative",
        OB + "result",
        OB + "Result",
        OB + "resultDescription",
        OB + "ResultDescription",
        OB + "RubricCriterionLevel",
        OB + "achievedLevel",
        CRED + "evidence",
        OB + "Evidence",
    }
    assert expected <= expanded, expected - expanded


def test_the_published_vc_context_with_its_vocab_fallback_catches_nothing(credential: dict[str, Any]) -> None:
    """The published VC 2.0 context maps unknown terms to issuer-dependent#; none of ours go there."""
    with_vocab = pinned(FILES[VC_CONTEXT])
    with_vocab["@context"]["@vocab"] = ISSUER_DEPENDENT
    inline = {**credential, "@context": [with_vocab["@context"], pinned(FILES[OB_CONTEXT])["@context"]]}
    assert problems(inline) == []


def test_compact_expand_compact_keeps_every_key_and_value(credential: dict[str, Any]) -> None:
    expanded = expand(credential)
    compacted = jsonld.compact(
        expanded, {"@context": credential["@context"]}, {"documentLoader": offline_loader}
    )
    assert keys(compacted) == keys(credential)
    assert single(compacted) == single(credential)


@pytest.mark.parametrize("vocab", [False, True], ids=["pinned", "published-with-vocab"])
def test_an_undefined_term_would_be_caught(credential: dict[str, Any], vocab: bool) -> None:
    """The checks above can fail: a made-up term is reported, whichever way the context treats it."""
    broken = copy.deepcopy(credential)
    broken["credentialSubject"]["favouriteColour"] = "blue"
    broken["credentialSubject"]["result"][0]["type"] = ["Result", "MarkedCriterion"]
    if vocab:
        vc = pinned(FILES[VC_CONTEXT])
        vc["@context"]["@vocab"] = ISSUER_DEPENDENT
        broken["@context"] = [vc["@context"], pinned(FILES[OB_CONTEXT])["@context"]]
    found = problems(broken)
    assert any("favouriteColour" in p for p in found), found
    assert any("MarkedCriterion" in p for p in found), found


def test_expansion_never_reaches_the_network(credential: dict[str, Any]) -> None:
    elsewhere = {
        **credential,
        "@context": [*credential["@context"], "https://example.org/other-context.jsonld"],
    }
    with pytest.raises(jsonld.JsonLdError):
        expand(elsewhere)
