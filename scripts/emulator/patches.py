"""Monkeypatches that make moto 5.2.5 behave like AWS where Firebreak depends on it.

Each patch is one small function named after the AWS behaviour it restores. ``apply()``
installs them all, once, and returns their names; the launcher reports those names on
``GET /firebreak/emulator`` so tests can tell a patched emulator from a plain moto_server.

The write-up for upstream (AWS behaviour, moto behaviour, reproduction, suggested fix)
is in docs/emulator-patches.md.
"""

from __future__ import annotations

import json
import functools
import os
import re
import threading
from typing import Any

import moto
from moto.core.responses import ActionResult
from moto.ec2.exceptions import EC2ClientError, InvalidSecurityGroupNotFoundError, VolumeInUseError
from moto.ec2.models.elastic_block_store import EBSBackend
from moto.ec2.responses.elastic_block_store import ElasticBlockStore
from moto.ec2.models.elastic_network_interfaces import NetworkInterface
from moto.ec2.models.iam_instance_profile import IamInstanceProfileAssociation, IamInstanceProfileAssociationBackend
from moto.ec2.models.instances import Instance, InstanceBackend
from moto.ec2.models.security_groups import SecurityGroupBackend
from moto.ec2.responses.instances import InstanceResponse
from moto.ec2.responses.key_pairs import KeyPairs
from moto.dynamodb.models import DynamoDBBackend
from moto.events.utils import EventTemplateParser
from moto.s3.responses import S3Response
from moto.core.exceptions import ServiceException
from moto.events.models import events_backends
from moto.events.responses import EventsHandler
from moto.iam.responses import IamResponse
from moto.sqs.models import Queue, SQSBackend
from moto.sqs.responses import SQSResponse
from moto.sts.responses import TokenResponse
from moto.sqs.models import Queue
from moto.ssm.exceptions import InvalidDocument, SSMException
from moto.ssm.models import Command, SimpleSystemManagerBackend
from werkzeug.datastructures import Headers

import trust

SUPPORTED_MOTO_VERSION = "5.2.5"

APPLIED: list[str] = []


class MultipleInterfacesError(EC2ClientError):
    """The error AWS returns for an instance-level network change on a multi-ENI instance."""

    def __init__(self, instance_id: str) -> None:
        super().__init__(
            "InvalidInstanceID",
            f"There are multiple interfaces attached to instance '{instance_id}'. "
            "Please specify an interface ID for the operation instead.",
        )


def eni_security_groups_are_the_enis_own() -> None:
    """AWS: an ENI's security groups are its own, attached or not.

    moto 5.2.5 reports an attached ENI's groups as its own groups united with the
    instance's, so after ModifyNetworkInterfaceAttribute(Groups=[iso]) the ENI still
    shows the instance's old groups in DescribeNetworkInterfaces and DescribeInstances.
    """

    def group_set(self: NetworkInterface) -> list[Any]:
        return list(self._group_set)

    NetworkInterface.group_set = property(group_set)  # type: ignore[assignment,method-assign]


def instance_security_groups_are_the_primary_enis() -> None:
    """AWS: an instance's SecurityGroups (DescribeInstances, groupSet attribute,
    instance.group-id filter) are the groups of its primary network interface.

    moto 5.2.5 keeps a separate list on the instance that never follows the ENI, so
    after ModifyNetworkInterfaceAttribute on the primary ENI the instance still shows
    the old groups.
    """

    def get_security_groups(self: Instance) -> list[Any]:
        nics = getattr(self, "nics", None) or {}
        primary = nics.get(0)
        if primary is not None:
            return list(primary._group_set)
        return list(self.__dict__.get("_firebreak_security_groups", []))

    def set_security_groups(self: Instance, groups: list[Any]) -> None:
        # Only Instance.__init__ (before its ENIs exist) and the original
        # modify_instance_security_groups assign this; the latter is replaced below.
        self.__dict__["_firebreak_security_groups"] = list(groups)

    Instance.security_groups = property(get_security_groups, set_security_groups)  # type: ignore[assignment]


def instance_level_group_change_needs_a_single_interface() -> None:
    """AWS: ModifyInstanceAttribute(Groups) on an instance with more than one network
    interface is refused with InvalidInstanceID "There are multiple interfaces attached
    to instance '…'. Please specify an interface ID for the operation instead."; on a
    single-interface instance it replaces that interface's groups.

    moto 5.2.5 accepts it on any instance and only changes a list on the instance,
    leaving every ENI's groups as they were.
    """

    def modify_instance_security_groups(
        self: InstanceBackend, instance_id: str, new_group_id_list: list[str]
    ) -> Instance:
        instance = self.get_instance(instance_id)
        if len(instance.nics) > 1:
            raise MultipleInterfacesError(instance_id)
        groups = []
        for group_id in new_group_id_list:
            group = self.get_security_group_from_id(group_id)  # type: ignore[attr-defined]
            if group is None:
                raise InvalidSecurityGroupNotFoundError(group_id)
            groups.append(group)
        primary = instance.nics.get(0)
        if primary is not None and groups:
            primary._group_set = groups
        return instance

    InstanceBackend.modify_instance_security_groups = modify_instance_security_groups  # type: ignore[method-assign]


def queue_redrive_policy_is_compact_json() -> None:
    """AWS: GetQueueAttributes returns RedrivePolicy as compact JSON
    (`{"deadLetterTargetArn":"…","maxReceiveCount":3}`).

    moto 5.2.5 serialises it with `json.dumps` defaults (a space after every
    separator), so the Terraform AWS provider sees a whitespace-only difference on
    every plan and updates every queue again, paying its ~25 s SQS wait each time.
    """
    original = Queue.attributes

    def attributes(self: Queue) -> dict[str, Any]:
        result = original.fget(self)  # type: ignore[union-attr]
        if self.redrive_policy:
            result["RedrivePolicy"] = json.dumps(self.redrive_policy, separators=(",", ":"))
        return result

    Queue.attributes = property(attributes)  # type: ignore[assignment,method-assign]


def eventbridge_targets_receive_the_account_field() -> None:
    """AWS: a rule target without an input transformer receives the whole event,
    `account` included (the account the event was put in).

    moto 5.2.5's default input template drops `account`, so a consumer that validates
    the EventBridge envelope (Powertools' EventBridgeSchema requires it) rejects every
    event that reached SQS through a rule.
    """
    EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE = (
        '{"version": "0", "id": "<id>", "detail-type": "<detail-type>", "source": "<source>", '
        '"account": "<account>", "time": <time>, "region": "<region>", "resources": <resources>, '
        '"detail": <detail>}'
    )


_DYNAMODB_LOCK = threading.RLock()


def dynamodb_item_writes_are_atomic() -> None:
    """AWS: concurrent UpdateItem calls on one item are each applied atomically.

    moto 5.2.5 serves requests on threads without locking its tables: two UpdateItem
    calls on the same item at once can fail with HTTP 500 ("dictionary changed size
    during iteration" in DynamoType.__deepcopy__) or lose an update. Firebreak records
    each concurrently finishing step on one incident item, so it depends on this.
    """
    for name in ("put_item", "get_item", "query", "scan", "update_item", "delete_item", "transact_write_items", "batch_get_item"):
        original = getattr(DynamoDBBackend, name)

        @functools.wraps(original)
        def locked(self: DynamoDBBackend, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with _DYNAMODB_LOCK:
                return __original(self, *args, **kwargs)

        setattr(DynamoDBBackend, name, locked)


_SECURITY_GROUP_LOCK = threading.RLock()


def security_group_names_are_unique_under_concurrency() -> None:
    """AWS: a security group name is unique in its VPC; of concurrent CreateSecurityGroup calls
    with one name, one succeeds and the others answer InvalidGroup.Duplicate.

    moto 5.2.5 checks for the name and then inserts the new group without a lock, on a
    threaded server: 20 concurrent creates of one name in one VPC created two groups in 1
    round of 10 here. Firebreak creates one isolation group per VPC, shared by every
    incident there, and relies on the duplicate answer under a storm of findings.
    """
    original = SecurityGroupBackend.create_security_group

    @functools.wraps(original)
    def create_security_group(self: SecurityGroupBackend, *args: Any, **kwargs: Any) -> Any:
        with _SECURITY_GROUP_LOCK:
            return original(self, *args, **kwargs)

    SecurityGroupBackend.create_security_group = create_security_group  # type: ignore[method-assign]


def instance_shutdown_behaviour_can_be_modified() -> None:
    """AWS: ModifyInstanceAttribute(InstanceInitiatedShutdownBehavior={Value: stop|terminate})
    changes what a shutdown from inside the instance does.

    moto 5.2.5 has no handler for it: the call falls through to the security-group
    handler with no groups (and, with the multi-interface patch, is refused), so the
    attribute never changes.
    """
    original = InstanceResponse._dot_value_instance_attribute_handler

    def handler(self: InstanceResponse) -> bool:
        value = self._get_param("InstanceInitiatedShutdownBehavior.Value")
        if value is None:
            return original(self)
        if value not in ("stop", "terminate"):
            raise EC2ClientError("InvalidParameterValue", f"Value ({value}) for parameter instanceInitiatedShutdownBehavior is invalid.")
        self.error_on_dryrun()
        instance = self.ec2_backend.get_instance(self._get_param("InstanceId"))
        instance.instance_initiated_shutdown_behavior = value
        return True

    InstanceResponse._dot_value_instance_attribute_handler = handler  # type: ignore[method-assign]


def instance_reports_its_current_instance_profile() -> None:
    """AWS: DescribeInstances reports the instance profile associated now
    (IamInstanceProfile.Arn, and .Id = the instance profile's id), also after
    ReplaceIamInstanceProfileAssociation.

    moto 5.2.5 sets the instance's IamInstanceProfile only when an association is
    created (with the association id as Id) and never on a replacement, so an instance
    keeps reporting the profile containment replaced.
    """
    original_init = IamInstanceProfileAssociation.__init__
    original_replace = IamInstanceProfileAssociationBackend.replace_iam_instance_profile_association

    def show(association: IamInstanceProfileAssociation) -> None:
        association.ec2_backend.modify_instance_attribute(
            association.instance_id,
            "iam_instance_profile",
            {"Arn": association.iam_instance_profile.arn, "Id": association.iam_instance_profile.id},
        )

    @functools.wraps(original_init)
    def init(self: IamInstanceProfileAssociation, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        show(self)

    @functools.wraps(original_replace)
    def replace(self: IamInstanceProfileAssociationBackend, *args: Any, **kwargs: Any) -> IamInstanceProfileAssociation:
        association = original_replace(self, *args, **kwargs)
        show(association)
        return association

    IamInstanceProfileAssociation.__init__ = init  # type: ignore[method-assign]
    IamInstanceProfileAssociationBackend.replace_iam_instance_profile_association = replace  # type: ignore[method-assign]


def run_instances_honours_the_client_token() -> None:
    """AWS: RunInstances with a ClientToken already used returns the reservation that token
    launched instead of launching again (so a retried or concurrent call launches once).

    moto 5.2.5 stores the token and launches on every call.
    """
    original = InstanceResponse.run_instances

    def run_instances(self: InstanceResponse) -> ActionResult:
        token = self._get_param("ClientToken")
        if token:
            for reservation in list(self.ec2_backend.reservations.values()):
                if any(getattr(i, "client_token", None) == token for i in reservation.instances):
                    return ActionResult(reservation)
        return original(self)

    InstanceResponse.run_instances = run_instances  # type: ignore[method-assign]


def create_volume_honours_the_client_token() -> None:
    """AWS: CreateVolume with a used ClientToken returns that volume; the same token with
    other parameters is refused (IdempotentParameterMismatch).

    moto 5.2.5 ignores ClientToken and creates a volume on every call.
    """
    original = ElasticBlockStore.create_volume

    def create_volume(self: ElasticBlockStore) -> ActionResult:
        token = self._get_param("ClientToken")
        if not token:
            return original(self)
        tokens = self.ec2_backend.__dict__.setdefault("_firebreak_volume_tokens", {})
        params = (self._get_param("AvailabilityZone"), self._get_param("SnapshotId"), self._get_param("Size"), self._get_param("VolumeType"))
        known = tokens.get(token)
        if known and known[0] in self.ec2_backend.volumes:
            if known[1] != params:
                raise EC2ClientError("IdempotentParameterMismatch", f"Client token {token} was used with different parameters")
            return ActionResult(self.ec2_backend.volumes[known[0]])
        result = original(self)
        tokens[token] = (result.result.id, params)
        return result

    ElasticBlockStore.create_volume = create_volume  # type: ignore[method-assign]


def attach_volume_checks_state_zone_and_device() -> None:
    """AWS: AttachVolume refuses a volume that is attached (VolumeInUse), in another
    Availability Zone (InvalidVolume.ZoneMismatch), or a device name in use
    (InvalidParameterValue).

    moto 5.2.5 accepts all three: it moves the volume, attaches across zones, and overwrites
    the device mapping.
    """
    original = EBSBackend.attach_volume

    def attach_volume(self: EBSBackend, volume_id: str, instance_id: str, device_path: str, delete_on_termination: bool = False) -> Any:
        volume = self.get_volume(volume_id)
        instance = self.get_instance(instance_id)  # type: ignore[attr-defined]
        if volume.attachment is not None:
            raise VolumeInUseError(volume_id, volume.attachment.instance.id)
        if volume.zone.name != instance.placement.zone:
            raise EC2ClientError("InvalidVolume.ZoneMismatch", f"The volume '{volume_id}' is not in the same availability zone as instance '{instance_id}'")
        if device_path in instance.block_device_mapping:
            raise EC2ClientError("InvalidParameterValue", f"Invalid value '{device_path}' for unixDevice. Attachment point {device_path} is already in use")
        return original(self, volume_id, instance_id, device_path, delete_on_termination)

    EBSBackend.attach_volume = attach_volume  # type: ignore[method-assign]


def object_lock_accepts_any_checksum_header() -> None:
    """AWS: a PutObject into a bucket with Object Lock needs Content-MD5 or an x-amz-checksum-* header.

    S3's own error says "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object
    requests with Object Lock parameters". moto 5.2.5 accepts only Content-MD5 or
    x-amz-sdk-checksum-algorithm, so an SDK call that sends the checksum itself
    (ChecksumSHA256: x-amz-checksum-sha256 only) is refused with
    MissingUploadObjectWithObjectLockHeaders, although AWS stores it.
    """
    original = S3Response._key_response_put

    @functools.wraps(original)
    def key_response_put(self: S3Response, *args: Any, **kwargs: Any) -> Any:
        checksums = [k for k in self.headers.keys() if k.lower().startswith("x-amz-checksum-") and k.lower() != "x-amz-checksum-type"]
        if checksums and not self.headers.get("x-amz-sdk-checksum-algorithm"):
            headers = Headers(self.headers)
            headers["x-amz-sdk-checksum-algorithm"] = checksums[0].lower().removeprefix("x-amz-checksum-").upper()
            self.headers = headers
        return original(self, *args, **kwargs)

    S3Response._key_response_put = key_response_put  # type: ignore[method-assign]


class AccessDenied(ServiceException):
    """AWS's `AccessDenied` (HTTP 403). Defined outside moto's packages, so moto serialises it
    with the model of the service that raised it (STS, SQS) and no other."""

    code = "AccessDenied"


def access_denied(response: Any, message: str) -> tuple[str, dict[str, Any]]:
    """An `AccessDenied` error, HTTP 403, in the protocol of the response's service."""
    status, headers, body = response.serialized(ActionResult(AccessDenied(message)))
    headers["status"] = 403
    return body, headers


def assume_role_checks_the_trust_policy() -> None:
    """AWS: AssumeRole succeeds only when the role exists and its trust policy allows the caller
    (Principal AWS: the caller's ARN, its role's ARN, its account or `arn:aws:iam::<account>:root`,
    or `*`), with the policy's conditions holding (e.g. `sts:ExternalId`, `aws:PrincipalArn`), and no
    statement denies it. Otherwise: AccessDenied, "User: <caller> is not authorized to perform:
    sts:AssumeRole on resource: <role ARN>" (the same answer for a role that does not exist).

    moto 5.2.5 lets anyone assume any role ARN, existing or not, and ignores ExternalId.
    The credentials it returns belong to the role's account (cross-account works): kept.
    """
    original = TokenResponse.assume_role

    def assume_role(self: TokenResponse) -> Any:
        from moto.iam.models import iam_backends

        role_arn = self._get_param("RoleArn") or ""
        caller = trust.caller_from_access_key(self.get_access_key(), self.current_account)
        refusal = f"User: {caller.identity_arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
        parts = role_arn.split(":", 5)
        if len(parts) != 6 or parts[2] != "iam" or not parts[5].startswith("role/"):
            return access_denied(self, refusal)
        try:
            role = iam_backends[parts[4]][trust.PARTITION].get_role_by_arn(role_arn)
        except Exception:
            return access_denied(self, refusal)
        context = trust.request_context(
            caller,
            {"sts:ExternalId": self._get_param("ExternalId"), "sts:RoleSessionName": self._get_param("RoleSessionName")},
        )
        decision = trust.evaluate(role.assume_role_policy_document, "sts:AssumeRole", "*", caller, context)
        if decision.denied or not decision.allowed:
            return access_denied(self, refusal)
        return original(self)

    TokenResponse.assume_role = assume_role  # type: ignore[method-assign]


_SQS_SENDER = threading.local()


def sqs_sender_id_is_the_callers_unique_id() -> None:
    """AWS: a message's SenderId is the unique id of the principal that sent it: `AIDA…` for an
    IAM user, `AROA…:<session name>` for an assumed role (a Lambda function: `AROA…:<function
    name>`), an AWS-internal id for a service delivery (EventBridge).

    moto 5.2.5 gives every message the same constant SenderId, whoever sent it. Firebreak records
    each message's SenderId in the ledger (who put it on the queue).
    """
    original_send = SQSBackend.send_message

    @functools.wraps(original_send)
    def send_message(self: SQSBackend, *args: Any, **kwargs: Any) -> Any:
        message = original_send(self, *args, **kwargs)
        sender = getattr(_SQS_SENDER, "user_id", None)
        if sender:
            message.sender_id = sender
        return message

    SQSBackend.send_message = send_message  # type: ignore[method-assign]

    for name in ("send_message", "send_message_batch"):
        original = getattr(SQSResponse, name)

        @functools.wraps(original)
        def sent_by_the_caller(self: SQSResponse, __original: Any = original) -> Any:
            # Only API calls carry a caller; moto's own deliveries (EventBridge targets) keep its id.
            _SQS_SENDER.user_id = trust.caller_from_access_key(self.get_access_key(), self.current_account).user_id
            try:
                return __original(self)
            finally:
                _SQS_SENDER.user_id = None

        setattr(SQSResponse, name, sent_by_the_caller)


def _deny_log(kind: str, unsupported: list[str]) -> None:
    if unsupported:
        print(f"Firebreak emulator: {kind} has condition operators the emulator does not evaluate: {sorted(set(unsupported))}", flush=True)


def sqs_send_message_honours_the_queue_policy() -> None:
    """AWS: SendMessage and SendMessageBatch (both authorised as `sqs:SendMessage`) are refused
    when the queue's policy has a Deny statement whose Action, Resource and Principal match and
    whose Condition holds for the request (e.g. `aws:PrincipalArn`, `aws:SourceArn`):
    HTTP 403 AccessDenied, "User: <caller> is not authorized to perform: sqs:sendmessage on
    resource: <queue ARN> with an explicit deny in a resource-based policy".

    moto 5.2.5 stores the policy and never reads it. Only explicit Denies are enforced here:
    moto evaluates no identity policy, so what an Allow would add cannot be decided. moto's own
    EventBridge → SQS delivery does not pass through this handler (in AWS, the queue policy's
    Allow for events.amazonaws.com with aws:SourceArn = the rule admits it).
    """
    for name in ("send_message", "send_message_batch"):
        original = getattr(SQSResponse, name)

        @functools.wraps(original)
        def checked(self: SQSResponse, __original: Any = original) -> Any:
            try:
                queue = self.sqs_backend.get_queue(self._get_queue_name())
            except Exception:
                return __original(self)  # moto's own answer for a queue that does not exist
            if queue.policy:
                caller = trust.caller_from_access_key(self.get_access_key(), self.current_account)
                decision = trust.evaluate(queue.policy, "sqs:SendMessage", queue.queue_arn, caller, trust.request_context(caller))
                _deny_log(f"the policy of {queue.queue_arn}", decision.unsupported)
                if decision.denied:
                    return access_denied(
                        self,
                        f"User: {caller.identity_arn} is not authorized to perform: sqs:sendmessage on resource: "
                        f"{queue.queue_arn} with an explicit deny in a resource-based policy",
                    )
            return __original(self)

        setattr(SQSResponse, name, checked)


def eventbridge_put_events_honours_the_bus_policy() -> None:
    """AWS: PutEvents authorises each entry on its own bus: an entry whose bus policy has a Deny
    statement for `events:PutEvents` that matches the caller (Principal, Resource, Condition such
    as `aws:PrincipalArn`) fails alone, with ErrorCode `AccessDeniedException` in its result entry
    and FailedEntryCount counting it; the other entries are put.

    moto 5.2.5 stores the bus policy and never reads it. Only explicit Denies are enforced (moto
    evaluates no identity policy).
    """
    original = EventsHandler.put_events

    def bus_of(handler: EventsHandler, name_or_arn: str | None) -> Any:
        name_or_arn = name_or_arn or "default"
        backend = handler.events_backend
        if name_or_arn.startswith("arn:"):
            parts = name_or_arn.split(":", 5)
            backend = events_backends[parts[4]][parts[3]]
            name_or_arn = parts[5].removeprefix("event-bus/")
        try:
            return backend.describe_event_bus(name_or_arn)
        except Exception:
            return None

    def put_events(self: EventsHandler) -> str:
        entries = self._get_param("Entries") or []
        if len(entries) > 10:
            return original(self)  # moto's own validation error
        caller = trust.caller_from_access_key(self.get_access_key(), self.current_account)
        results: list[dict[str, Any] | None] = [None] * len(entries)
        admitted: list[int] = []
        for n, entry in enumerate(entries):
            bus = bus_of(self, entry.get("EventBusName"))
            policy = bus.policy if bus is not None else None
            if policy:
                context = trust.request_context(caller, {"events:source": entry.get("Source"), "events:detail-type": entry.get("DetailType")})
                decision = trust.evaluate(policy, "events:PutEvents", bus.arn, caller, context)
                _deny_log(f"the policy of {bus.arn}", decision.unsupported)
                if decision.denied:
                    results[n] = {
                        "ErrorCode": "AccessDeniedException",
                        "ErrorMessage": f"User: {caller.identity_arn} is not authorized to perform: events:PutEvents on resource: "
                        f"{bus.arn} with an explicit deny in a resource-based policy",
                    }
                    continue
            admitted.append(n)
        put = self.events_backend.put_events([entries[n] for n in admitted]) if admitted else []
        for n, result in zip(admitted, put):
            results[n] = result
        return json.dumps({"FailedEntryCount": sum(1 for r in results if r and "ErrorCode" in r), "Entries": results})

    EventsHandler.put_events = put_events  # type: ignore[method-assign]
def send_command_checks_the_document_and_its_parameters() -> None:
    """AWS: SendCommand refuses a document that does not exist (InvalidDocument) and parameters the
    document does not declare, leaves out without a default, or whose values do not match its
    ``allowedPattern`` (InvalidParameters); each step of the document is a plugin named after the
    step, which GetCommandInvocation reads by ``PluginName``.

    moto 5.2.5 accepts any document name and any parameters, and names the one invocation of every
    command ``aws:runShellScript``. The account's own documents (CreateDocument) are checked;
    AWS's own (``AWS-…``, ``Amazon…``), which moto does not hold, pass as before.
    """
    original_send = SimpleSystemManagerBackend.send_command
    original_get = Command.get_invocation

    def invalid_parameters(message: str) -> SSMException:
        return SSMException("InvalidParameters", message)

    @functools.wraps(original_send)
    def send_command(self: SimpleSystemManagerBackend, *args: Any, **kwargs: Any) -> Command:
        name = kwargs.get("document_name") or ""
        if re.match(r"^(AWS-|AWSEC2-|AWSSupport-|Amazon|amzn)", name, re.IGNORECASE):
            return original_send(self, *args, **kwargs)
        documents = self._documents.get(name)
        if documents is None:
            raise InvalidDocument("The specified document does not exist.")
        content = documents.get_default_version().content_json
        declared: dict[str, Any] = content.get("parameters") or {}
        given: dict[str, list[str]] = kwargs.get("parameters") or {}
        undeclared = sorted(set(given) - set(declared))
        if undeclared:
            raise invalid_parameters(f"Parameters {undeclared} are not defined in the document {name}.")
        for param, spec in declared.items():
            values = given.get(param)
            if values is None:
                if "default" not in spec:
                    raise invalid_parameters(f"Parameter {param} of the document {name} is required.")
                continue
            pattern = spec.get("allowedPattern")
            for value in values if isinstance(values, list) else [values]:
                if pattern and re.search(pattern, str(value)) is None:
                    raise invalid_parameters(f"Parameter \"{param}\" \"{value}\" failed to satisfy constraint: allowedPattern {pattern}.")
        command = original_send(self, *args, **kwargs)
        steps = [step["name"] for step in content.get("mainSteps") or [] if "name" in step]
        if steps:
            command.invocations = [command.invocation_response(i, step) for i in command.instance_ids for step in steps]
        return command

    @functools.wraps(original_get)
    def get_invocation(self: Command, instance_id: str, plugin_name: str | None) -> dict[str, Any]:
        if plugin_name is not None:
            for invocation in self.invocations:
                if invocation["InstanceId"] == instance_id and invocation["PluginName"] == plugin_name:
                    return invocation
        return original_get(self, instance_id, plugin_name)

    SimpleSystemManagerBackend.send_command = send_command  # type: ignore[method-assign]
    Command.get_invocation = get_invocation  # type: ignore[method-assign]


def delete_key_pair_takes_the_key_pair_id() -> None:
    """AWS: DeleteKeyPair names the key pair by KeyName or by KeyPairId (the id is unambiguous:
    a name can be reused as soon as the pair is deleted); an unknown one is not an error.

    moto 5.2.5 reads KeyName only: with KeyPairId alone it deletes nothing and answers success.
    """
    original = KeyPairs.delete_key_pair

    def delete_key_pair(self: KeyPairs) -> ActionResult:
        key_pair_id = self._get_param("KeyPairId")
        if not key_pair_id or self._get_param("KeyName"):
            return original(self)
        self.error_on_dryrun()
        match = next((k for k in list(self.ec2_backend.key_pairs.values()) if k.id == key_pair_id), None)
        if match is not None:
            self.ec2_backend.delete_key_pair(match.key_name)
        return ActionResult({"Return": True, "KeyPairId": key_pair_id if match is not None else None})

    KeyPairs.delete_key_pair = delete_key_pair  # type: ignore[method-assign]


def create_login_profile_keeps_password_reset_required() -> None:
    """AWS: CreateLoginProfile with PasswordResetRequired=true makes the user choose a new password
    at the next sign-in, and GetLoginProfile reports PasswordResetRequired: true.

    moto 5.2.5 drops the parameter (its backend takes only the password), so every profile it
    creates reports false.
    """

    def create_login_profile(self: IamResponse) -> ActionResult:
        user = self.backend.create_login_profile(self._get_param("UserName"), self._get_param("Password"))
        user.password_reset_required = bool(self._get_bool_param("PasswordResetRequired", False))
        return ActionResult(
            {"LoginProfile": {"UserName": user.name, "CreateDate": user.create_date, "PasswordResetRequired": user.password_reset_required}}
        )

    IamResponse.create_login_profile = create_login_profile  # type: ignore[method-assign]


class RequesterManagedInterfaceError(EC2ClientError):
    """What EC2 answers a security-group change on an interface another service manages."""

    def __init__(self) -> None:
        super().__init__("AuthFailure", "You do not have permission to access the specified resource.")


def ecs_awsvpc_tasks_get_a_requester_managed_interface() -> None:
    """AWS: RunTask with awsvpc networking gives the task its own ENI in the subnet of its
    awsvpcConfiguration, with the configuration's security groups and a private IP of that
    subnet. ECS creates it and manages it: DescribeNetworkInterfaces shows RequesterManaged
    true, InterfaceType "interface", status in-use and the description
    "arn:aws:ecs:<region>:<account>:attachment/<attachment id>"; the task's attachment of type
    ElasticNetworkInterface names it (subnetId, networkInterfaceId, macAddress,
    privateDnsName, privateIPv4Address).

    moto 5.2.5 answers HTTP 500 ('NetworkInterface' object has no attribute
    'private_dns_name') unless the VPC has DNS hostnames on; and when it does answer, the ENI
    is an ordinary one ("moto ECS", RequesterManaged false) with an address outside the subnet.
    """
    from moto.ec2.models import ec2_backends
    from moto.ec2.utils import generate_dns_from_ip, random_private_ip
    from moto.ecs.models import Task

    # The attachment is built from eni.private_dns_name, which moto sets only with DNS hostnames.
    if not hasattr(NetworkInterface, "private_dns_name"):
        NetworkInterface.private_dns_name = None  # type: ignore[attr-defined]
    original = Task.__init__

    @functools.wraps(original)
    def init(self: Task, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        for attachment in self.attachments:
            if attachment.get("type") != "ElasticNetworkInterface":
                continue
            details = {d["name"]: d for d in attachment["details"]}
            ec2 = ec2_backends[self._account_id][self.region_name]
            eni = ec2.get_network_interface(details["networkInterfaceId"]["value"])
            address = random_private_ip(eni.subnet.cidr_block)
            eni.private_ip_address = address
            eni.private_ip_addresses = [{"Primary": True, "PrivateIpAddress": address, "PrivateDnsName": generate_dns_from_ip(address)}]
            eni.private_dns_name = generate_dns_from_ip(address)
            eni.requester_managed = True
            eni.interface_type = "interface"
            eni.status = "in-use"
            eni.description = f"arn:aws:ecs:{self.region_name}:{self._account_id}:attachment/{attachment['id']}"
            details["privateIPv4Address"]["value"] = address
            details["privateDnsName"]["value"] = eni.private_dns_name

    Task.__init__ = init  # type: ignore[method-assign]


def requester_managed_interfaces_refuse_group_changes() -> None:
    """AWS: an interface another service created and manages (RequesterManaged true: Fargate
    and awsvpc task ENIs, Lambda's, a load balancer's…) refuses ModifyNetworkInterfaceAttribute
    with Groups, even for an administrator (Cloud Custodian issue 3406: an auth error on ENIs
    that ECS attached); only the managing service changes it.

    moto 5.2.5 changes any interface's groups.
    """
    from moto.ec2.models.elastic_network_interfaces import NetworkInterfaceBackend

    original = NetworkInterfaceBackend.modify_network_interface_attribute

    @functools.wraps(original)
    def modify(self: Any, eni_id: str, group_ids: list[str], *args: Any, **kwargs: Any) -> None:
        eni = self.get_network_interface(eni_id)
        if group_ids and getattr(eni, "requester_managed", False):
            raise RequesterManagedInterfaceError()
        return original(self, eni_id, group_ids, *args, **kwargs)

    NetworkInterfaceBackend.modify_network_interface_attribute = modify  # type: ignore[method-assign]


# ECS task scale-in protection: AWS allows 1 to 2880 minutes, 120 when not given.
_TASK_PROTECTION_DEFAULT_MINUTES = 120
_TASK_PROTECTION_MAX_MINUTES = 2880


def ecs_task_protection_is_supported() -> None:
    """AWS: UpdateTaskProtection sets (or clears) scale-in protection on up to 10 tasks of a
    service, for expiresInMinutes (1-2880, default 120); a task outside a service is a failure
    TASK_NOT_VALID, an unknown task MISSING; GetTaskProtection reads it back.

    moto 5.2.5 has neither API (HTTP 500). Minimal implementation: a task belongs to a service
    when its group is "service:<name>" (what ECS sets on a service's tasks).
    """
    import datetime

    from moto.ecs.exceptions import InvalidParameterException
    from moto.ecs.models import EC2ContainerServiceBackend
    from moto.ecs.responses import EC2ContainerServiceResponse

    def find(backend: EC2ContainerServiceBackend, cluster_str: str, task_str: str) -> Any:
        cluster = backend._get_cluster(cluster_str)
        task_id = task_str.split("/")[-1]
        for arn, task in backend.tasks.get(cluster.name, {}).items():
            if arn.split("/")[-1] == task_id:
                return task
        return None

    def protection_of(task: Any) -> dict[str, Any]:
        state = getattr(task, "_firebreak_protection", None)
        now = datetime.datetime.now(datetime.timezone.utc)
        if state and state["expirationDate"] > now:
            return {"taskArn": task.task_arn, "protectionEnabled": True, "expirationDate": state["expirationDate"]}
        return {"taskArn": task.task_arn, "protectionEnabled": False}

    def answer(backend: EC2ContainerServiceBackend, cluster: str, tasks: list[str], change: Any) -> dict[str, Any]:
        if not tasks or len(tasks) > 10:
            raise InvalidParameterException("tasks must name between 1 and 10 tasks.")
        protected, failures = [], []
        for ref in tasks:
            task = find(backend, cluster, ref)
            if task is None:
                failures.append({"arn": ref, "reason": "MISSING"})
            elif not str(task.group or "").startswith("service:"):
                failures.append({"arn": task.task_arn, "reason": "TASK_NOT_VALID", "detail": "The task is not part of a service."})
            else:
                change(task)
                protected.append(protection_of(task))
        return {"protectedTasks": protected, "failures": failures}

    def update_task_protection(self: EC2ContainerServiceResponse) -> ActionResult:
        enabled = bool(self._get_param("protectionEnabled"))
        minutes = self._get_param("expiresInMinutes")
        if minutes is None:
            minutes = _TASK_PROTECTION_DEFAULT_MINUTES
        if enabled and not 1 <= int(minutes) <= _TASK_PROTECTION_MAX_MINUTES:
            raise InvalidParameterException("expiresInMinutes must be between 1 and 2880.")

        def change(task: Any) -> None:
            if enabled:
                expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=int(minutes))
                task._firebreak_protection = {"expirationDate": expires}
            else:
                task._firebreak_protection = None

        return ActionResult(answer(self.ecs_backend, self._get_param("cluster", "default"), self._get_param("tasks") or [], change))

    def get_task_protection(self: EC2ContainerServiceResponse) -> ActionResult:
        return ActionResult(answer(self.ecs_backend, self._get_param("cluster", "default"), self._get_param("tasks") or [], lambda task: None))

    EC2ContainerServiceResponse.update_task_protection = update_task_protection  # type: ignore[attr-defined]
    EC2ContainerServiceResponse.get_task_protection = get_task_protection  # type: ignore[attr-defined]

# AWS's answer to ModifyDBInstance on an Aurora member for a setting its DB cluster manages: the
# parameter (moto's snake_case name) and the words AWS puts in "Modify … for the DB Cluster".
CLUSTER_MANAGED_INSTANCE_SETTINGS = {
    "vpc_security_group_ids": "vpc security group",
    "backup_retention_period": "backup retention",
    "deletion_protection": "deletion protection",
}


def aurora_members_refuse_cluster_managed_settings() -> None:
    """AWS: ModifyDBInstance on a DB cluster member with VpcSecurityGroupIds (or BackupRetentionPeriod,
    DeletionProtection) answers 400 InvalidParameterCombination "The specified DB Instance is a
    member of a cluster. Modify vpc security group for the DB Cluster using the ModifyDbCluster API":
    the cluster carries its members' groups.

    moto 5.2.5 raises NotImplementedError from the member's setter, which moto_server turns into an
    HTML 500 that the SDK retries as a server fault.
    """
    from moto.rds.exceptions import RDSClientError
    from moto.rds.models import DBInstanceClustered, RDSBackend

    original = RDSBackend.modify_db_instance

    @functools.wraps(original)
    def modify_db_instance(self: RDSBackend, db_instance_identifier: str, db_kwargs: dict[str, Any]) -> Any:
        database = self.describe_db_instances(db_instance_identifier)[0]
        if isinstance(database, DBInstanceClustered):
            for key, words in CLUSTER_MANAGED_INSTANCE_SETTINGS.items():
                if db_kwargs.get(key) is not None:
                    raise RDSClientError(
                        "InvalidParameterCombination",
                        f"The specified DB Instance is a member of a cluster. Modify {words} for the DB Cluster using the ModifyDbCluster API",
                    )
        return original(self, db_instance_identifier, db_kwargs)

    RDSBackend.modify_db_instance = modify_db_instance  # type: ignore[method-assign]


def aurora_members_report_the_cluster_subnet_group() -> None:
    """AWS: DescribeDBInstances reports an Aurora member's DBSubnetGroup (its VPC and subnets): the
    cluster's, since a member is created without one.

    moto 5.2.5 reports none for a member created without DBSubnetGroupName, so its VPC is unknown.
    """
    from moto.rds.models import DBInstanceClustered

    original = DBInstanceClustered.__init__

    @functools.wraps(original)
    def init(self: DBInstanceClustered, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        name = getattr(self.cluster, "db_subnet_group_name", None)
        if self._db_subnet_group_name is None and name and name in self.backend.subnet_groups:
            self.db_subnet_group_name = name

    DBInstanceClustered.__init__ = init  # type: ignore[method-assign]


def modify_db_cluster_enables_iam_authentication() -> None:
    """AWS: ModifyDBCluster EnableIAMDatabaseAuthentication=true turns IAM authentication on, and
    DescribeDBClusters reports IAMDatabaseAuthenticationEnabled: true.

    moto 5.2.5 stores the parameter under another attribute than the one it reports (iam_auth, set
    only at creation), so the cluster keeps reporting false.
    """
    from moto.rds.models import DBCluster

    def iam_database_authentication_enabled(self: DBCluster) -> bool:
        return bool(self.__dict__.get("enable_iam_database_authentication", self.iam_auth))

    DBCluster.iam_database_authentication_enabled = property(iam_database_authentication_enabled)  # type: ignore[assignment,method-assign]


# APIs Firebreak's steps call that moto 5.2.5 does not have, per service. AWS answers every API
# it has with its protocol's error document; moto raises NotImplementedError and moto_server
# turns it into an HTML "500 Internal Server Error" page, which the SDK reads as a retryable
# server fault. Here they answer as an endpoint without the API: HTTP 501, in the service's own
# error shape, code NotImplemented (a step records it as failed, unsupported).
MISSING_APIS: dict[str, frozenset[str]] = {
    "iam": frozenset({"SimulatePrincipalPolicy"}),
    "cloudtrail": frozenset({"LookupEvents", "StartQuery", "GetQueryResults"}),
    # moto has no SSM agents: whether one answers cannot be emulated, only said to be unknown.
    "ssm": frozenset({"DescribeInstanceInformation"}),
    "rds": frozenset({"DownloadDBLogFilePortion"}),
}


def missing_apis_answer_not_implemented() -> None:
    from moto.core.responses import BaseResponse

    original = BaseResponse.call_action

    @functools.wraps(original)
    def call_action(self: BaseResponse) -> Any:
        try:
            return original(self)
        except NotImplementedError:
            action = self._get_action()
            if action not in MISSING_APIS.get(getattr(self, "service_name", "") or "", frozenset()):
                raise
            message = f"The {action} action has not been implemented by this emulator (moto {moto.__version__})"
            if self.headers.get("X-Amz-Target"):
                body = json.dumps({"__type": "NotImplemented", "message": message})
                return 501, {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": "NotImplemented"}, body
            body = (
                '<ErrorResponse><Error><Type>Receiver</Type><Code>NotImplemented</Code>'
                f"<Message>{message}</Message></Error><RequestId>firebreak-emulator</RequestId></ErrorResponse>"
            )
            return 501, {"Content-Type": "text/xml"}, body

    BaseResponse.call_action = call_action  # type: ignore[method-assign]


def auto_scaling_registers_only_new_members_in_target_groups() -> None:
    """AWS registers an Auto Scaling group's instances in its target groups when it launches them
    (or when the target group is attached to the group), and not again: an instance deregistered
    by hand stays deregistered while it is a member. moto registers every member each time the
    group changes (a replacement launched after another member was detached put a contained
    member back behind its load balancer). Here each group remembers which of its members it
    registered in which target group; members that left are forgotten (registered again if they
    rejoin)."""
    from moto.autoscaling.models import AutoScalingBackend

    def update_attached_target_groups(self: AutoScalingBackend, group_name: str) -> None:
        group = self.autoscaling_groups[group_name]
        if not group.target_group_arns:
            return
        members = {state.instance.id for state in group.instance_states}
        registered: set[tuple[str, str]] = {pair for pair in group.__dict__.get("_firebreak_registered", set()) if pair[1] in members}
        group.__dict__["_firebreak_registered"] = registered
        target_groups = self.elbv2_backend.describe_target_groups(target_group_arns=group.target_group_arns, load_balancer_arn=None, names=None)
        for target_group in target_groups:
            new = sorted(i for i in members if (target_group.arn, i) not in registered)
            if new:
                self.elbv2_backend.register_targets(target_group.arn, [{"Id": i, "Port": target_group.port} for i in new])
                registered.update((target_group.arn, i) for i in new)

    AutoScalingBackend.update_attached_target_groups = update_attached_target_groups  # type: ignore[method-assign]


PATCHES = (
    eni_security_groups_are_the_enis_own,
    instance_security_groups_are_the_primary_enis,
    instance_level_group_change_needs_a_single_interface,
    queue_redrive_policy_is_compact_json,
    eventbridge_targets_receive_the_account_field,
    dynamodb_item_writes_are_atomic,
    security_group_names_are_unique_under_concurrency,
    instance_shutdown_behaviour_can_be_modified,
    instance_reports_its_current_instance_profile,
    run_instances_honours_the_client_token,
    create_volume_honours_the_client_token,
    attach_volume_checks_state_zone_and_device,
    object_lock_accepts_any_checksum_header,
    assume_role_checks_the_trust_policy,
    sqs_sender_id_is_the_callers_unique_id,
    sqs_send_message_honours_the_queue_policy,
    eventbridge_put_events_honours_the_bus_policy,
    send_command_checks_the_document_and_its_parameters,
    delete_key_pair_takes_the_key_pair_id,
    create_login_profile_keeps_password_reset_required,
    ecs_awsvpc_tasks_get_a_requester_managed_interface,
    requester_managed_interfaces_refuse_group_changes,
    ecs_task_protection_is_supported,
    aurora_members_refuse_cluster_managed_settings,
    aurora_members_report_the_cluster_subnet_group,
    modify_db_cluster_enables_iam_authentication,
    auto_scaling_registers_only_new_members_in_target_groups,
    missing_apis_answer_not_implemented,
)


def apply() -> list[str]:
    """Install every patch once; return the names of the installed patches."""
    if moto.__version__ != SUPPORTED_MOTO_VERSION:
        raise RuntimeError(
            f"Firebreak's emulator patches target moto {SUPPORTED_MOTO_VERSION}, "
            f"found {moto.__version__}: re-check each patch against the new code"
        )
    # To show what a patch guards (a test must fail without it): FIREBREAK_EMULATOR_WITHOUT=name,...
    without = {n.strip() for n in os.environ.get("FIREBREAK_EMULATOR_WITHOUT", "").split(",") if n.strip()}
    unknown = without - {p.__name__ for p in PATCHES}
    if unknown:
        raise RuntimeError(f"FIREBREAK_EMULATOR_WITHOUT names no patch: {sorted(unknown)}")
    if not APPLIED:
        for patch in PATCHES:
            if patch.__name__ in without:
                continue
            patch()
            APPLIED.append(patch.__name__)
    return list(APPLIED)
