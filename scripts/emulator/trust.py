"""Who is calling, and what a resource or trust policy says about it: the shared evaluator of
the emulator's trust-boundary patches (AssumeRole, SQS queue policies, EventBridge bus policies).

moto 5.2.5 evaluates no policy at all. This module evaluates the part of AWS's policy logic
Firebreak's boundaries rest on:

- the caller of a request, from its access key: an assumed-role session (aws:PrincipalArn is
  the role's ARN, with its path), an IAM user, or moto's default identity for keys it does not
  know (the `test` keys: GetCallerIdentity's `arn:aws:sts::<account>:user/moto`);
- whether a statement applies: Action/NotAction, Resource/NotResource, Principal ("*",
  {"AWS": ...} with ARNs, account ids or `arn:aws:iam::<account>:root"; {"Service": ...}), and
  Condition with the operators below, with AWS's rule for a key missing from the request:
  a negated operator (…Not…) matches, any other operator does not, `…IfExists` matches.

Operators: StringEquals, StringNotEquals, StringEqualsIgnoreCase, StringNotEqualsIgnoreCase,
StringLike, StringNotLike, ArnEquals, ArnNotEquals, ArnLike, ArnNotLike (each also …IfExists),
Bool, Null. A statement with any other operator is reported as not applying (see
`UnsupportedCondition`): callers decide whether that fails open or closed.

Identity policies are not evaluated (moto keeps them but checks none), so the resource-policy
patches enforce explicit Denies only; an Allow in a resource policy changes nothing here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

PARTITION = "aws"


@dataclass(frozen=True)
class Caller:
    """The principal behind a request, as AWS's request context describes it."""

    #: aws:PrincipalArn: the role ARN (with its path) for an assumed role, the user ARN for a user.
    principal_arn: str
    #: aws:PrincipalAccount
    account: str
    #: GetCallerIdentity's UserId: `AROA…:<session>` for a role session, `AIDA…` for a user.
    user_id: str
    #: GetCallerIdentity's Arn (the session ARN for an assumed role): what AWS names in errors.
    identity_arn: str
    kind: str = "user"  # "assumed-role" | "user" | "default"
    #: The service principal, for a request a service makes itself (never an API caller here).
    service: str | None = None

    def context(self) -> dict[str, Any]:
        return {"aws:principalarn": self.principal_arn, "aws:principalaccount": self.account, "aws:userid": self.user_id}


def caller_from_access_key(access_key_id: str, request_account: str | None = None) -> Caller:
    """The principal whose access key signed a request (moto's own account lookup). A key moto
    does not know is its default identity in the request's account (`request_account`: moto's
    `current_account`, which `x-moto-account-id` or MOTO_ACCOUNT_ID can set), as GetCallerIdentity says."""
    from moto.iam.models import get_account_id_from, iam_backends
    from moto.sts.models import sts_backends

    account = get_account_id_from(access_key_id)
    session = sts_backends[account][PARTITION].get_assumed_role_from_access_key(access_key_id)
    iam = iam_backends[account][PARTITION]
    if session is not None:
        try:
            role_arn = iam.get_role_by_arn(session.role_arn).arn
        except Exception:  # the role was deleted after the session was minted
            role_arn = session.role_arn
        return Caller(role_arn, account, session.user_id, session.arn, "assumed-role")
    user = iam.get_user_from_access_key_id(access_key_id)
    if user is not None:
        return Caller(user.arn, account, user.id, user.arn, "user")
    # moto's default identity (GetCallerIdentity for a key it does not know).
    account = request_account or account
    arn = f"arn:{PARTITION}:sts::{account}:user/moto"
    return Caller(arn, account, "AKIAIOSFODNN7EXAMPLE", arn, "default")


class UnsupportedCondition(Exception):
    """A condition operator this evaluator does not implement."""


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _glob(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """IAM wildcards: `*` any run of characters, `?` one character; nothing else is special."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL) is not None


def _arn_like(pattern: str, value: str) -> bool:
    """ArnEquals/ArnLike: each of the six colon-separated parts matched on its own, with wildcards."""
    p = pattern.split(":", 5)
    v = value.split(":", 5)
    if len(p) != 6 or len(v) != 6:
        return False
    return all(_glob(a, b) for a, b in zip(p, v))


_MATCHERS = {
    "StringEquals": lambda p, v: p == v,
    "StringEqualsIgnoreCase": lambda p, v: p.lower() == v.lower(),
    "StringLike": lambda p, v: _glob(p, v),
    "ArnEquals": _arn_like,
    "ArnLike": _arn_like,
    "Bool": lambda p, v: str(p).lower() == str(v).lower(),
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def _operator_holds(operator: str, key: str, expected: Any, context: dict[str, Any]) -> bool:
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    present = key.lower() in context
    actual = context.get(key.lower())
    if base == "Null":
        want_absent = str(_as_list(expected)[0]).lower() == "true"
        return (not present) == want_absent
    if base not in _MATCHERS and base not in _NEGATED:
        raise UnsupportedCondition(operator)
    if not present:
        # AWS: a missing key makes a negated operator true and any other false; IfExists: true.
        return if_exists or base in _NEGATED
    values = [str(v) for v in _as_list(actual)]
    patterns = [str(p) for p in _as_list(expected)]
    if base in _NEGATED:
        match = _MATCHERS[_NEGATED[base]]
        return not any(match(p, v) for p in patterns for v in values)
    match = _MATCHERS[base]
    return any(match(p, v) for p in patterns for v in values)


def condition_holds(condition: dict[str, Any] | None, context: dict[str, Any]) -> bool:
    """Every operator, and every key under it, must hold (AND); the values of one key are ORed."""
    for operator, keys in (condition or {}).items():
        for key, expected in keys.items():
            if not _operator_holds(operator, key, expected, context):
                return False
    return True


def _principal_matches(principal: Any, caller: Caller) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    if caller.service is not None:
        return caller.service in _as_list(principal.get("Service"))
    for entry in _as_list(principal.get("AWS")):
        if entry == "*" or entry in (caller.principal_arn, caller.identity_arn, caller.account):
            return True
        if entry == f"arn:{PARTITION}:iam::{caller.account}:root":
            return True
    return False


def statement_applies(statement: dict[str, Any], action: str, resource: str, caller: Caller, context: dict[str, Any]) -> bool:
    """Whether a policy statement covers this request (its effect is the caller's business)."""
    if "Action" in statement and not any(_glob(a, action, ignore_case=True) for a in _as_list(statement["Action"])):
        return False
    if "NotAction" in statement and any(_glob(a, action, ignore_case=True) for a in _as_list(statement["NotAction"])):
        return False
    if "Resource" in statement and not any(_glob(r, resource) for r in _as_list(statement["Resource"])):
        return False
    if "NotResource" in statement and any(_glob(r, resource) for r in _as_list(statement["NotResource"])):
        return False
    if "Principal" in statement and not _principal_matches(statement["Principal"], caller):
        return False
    if "NotPrincipal" in statement and _principal_matches(statement["NotPrincipal"], caller):
        return False
    return condition_holds(statement.get("Condition"), context)


@dataclass
class Decision:
    denied: bool = False
    allowed: bool = False
    unsupported: list[str] = field(default_factory=list)


def evaluate(policy: str | dict[str, Any] | None, action: str, resource: str, caller: Caller, context: dict[str, Any]) -> Decision:
    """Which statements of a policy document apply: an explicit Deny, an Allow."""
    decision = Decision()
    if not policy:
        return decision
    document = json.loads(policy) if isinstance(policy, str) else policy
    for statement in _as_list(document.get("Statement")):
        try:
            applies = statement_applies(statement, action, resource, caller, context)
        except UnsupportedCondition as error:
            decision.unsupported.append(str(error))
            continue
        if not applies:
            continue
        if statement.get("Effect") == "Deny":
            decision.denied = True
        elif statement.get("Effect") == "Allow":
            decision.allowed = True
    return decision


def request_context(caller: Caller, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The caller's keys plus any request-specific ones (lower-cased: condition keys ignore case)."""
    context = caller.context()
    context.update({k.lower(): v for k, v in (extra or {}).items() if v is not None})
    return context


class ServiceMayNotAssume(Exception):
    """The role does not exist, or its trust policy does not trust the service principal."""


def mint_service_session(role_arn: str, service: str, session_name: str, duration_seconds: int = 3600) -> dict[str, Any]:
    """Credentials for a role as a service obtains them (Lambda: session name = the function name),
    only if the role's trust policy allows the service principal to assume it."""
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    parts = role_arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "iam" or not parts[5].startswith("role/"):
        raise ServiceMayNotAssume(f"{role_arn} is not a role ARN")
    account = parts[4]
    try:
        role = iam_backends[account][PARTITION].get_role_by_arn(role_arn)
    except Exception:
        raise ServiceMayNotAssume(f"{role_arn} does not exist") from None
    caller = Caller(principal_arn=service, account=account, user_id=service, identity_arn=service, kind="service", service=service)
    decision = evaluate(role.assume_role_policy_document, "sts:AssumeRole", "*", caller, {})
    if decision.denied or not decision.allowed:
        raise ServiceMayNotAssume(f"{service} is not trusted by the trust policy of {role_arn}")
    session = sts_backends[account][PARTITION].assume_role(
        region_name="us-east-1",
        role_session_name=session_name,
        role_arn=role.arn,
        policy=None,
        duration=duration_seconds,
        external_id=None,
    )
    return {
        "AccessKeyId": session.access_key_id,
        "SecretAccessKey": session.secret_access_key,
        "SessionToken": session.session_token,
        "Expiration": session.expiration.isoformat(),
        "AssumedRoleId": session.user_id,
        "Arn": session.arn,
    }
