"""The EFS file system that holds the hub's home directories, and how task definitions mount it.

Which file system: the id from CDK context (`efs_file_system_id`, used as written: synth makes
no lookups), or else one this construct creates (encrypted, retained when the stack goes, with
a file system policy that refuses clients without TLS, and so refuses anonymous mounts).
Mount targets only for a file system made here (`add_mount_targets`, `HubHomeMountTargets`: one per
subnet, NFS only from the task security group); without subnets, a warning that no task can mount it.
A file system from context is assumed to have its own.

Two kinds of home (a service's `efs.per_user`):

- per user (`true`): the synthesized task definition mounts the file system with IAM
  authorization and *no* access point. The task role may mount only through an access point,
  so running that definition as it is mounts nothing; the spawner runs a per-user copy that
  names the user's own access point (see docs/efs.md).
- shared (`false`): one access point, from context (`efs_access_point_id`) or made here
  (root `/shared`), named in the task definition itself. Every user of the service reads and
  writes the same files.

The shared task role gets `elasticfilesystem:ClientMount` and `ClientWrite` on this file system
only, only through a mount target, and only through an access point: the shared one (exact
ARN) for shared homes, any access point of this file system for per-user homes (access point
ids are random, so no pattern narrows it further; docs/efs.md says what that means).
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Annotations, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_efs as efs
from aws_cdk import aws_iam as iam
from constructs import Construct

from ecsspawner.identity import TAG_HUB
from hubcdk.network import tcp_from_group
from hubspec.model import ServiceSpec

MOUNT_ACTIONS = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
SHARED_ROOT = "/shared"
SHARED_PERMISSIONS = "0770"
NFS_PORT = 2049
NO_MOUNT_TARGETS = "hub:efs-no-mount-targets"  # the warning's id (Annotations.acknowledge_warning takes it)


class HubHomeFileSystem(Construct):
    """The file system of the catalog's EFS homes, the shared access point if a service needs one, the
    task role's mount rights; `hubcdk.task_template.home_volume` renders the volume a task definition names."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        services: Sequence[ServiceSpec],
        task_role: iam.IRole,
        prefix: str,
        file_system_id: str | None = None,
        shared_access_point_id: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        homes = [s.efs for s in services if s.efs is not None]
        if not homes:
            raise ValueError("HubHomeFileSystem needs at least one service with efs")
        stack = Stack.of(self)
        self.created = file_system_id is None
        if file_system_id is None:
            deny_plain = iam.PolicyStatement(
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["*"],
                conditions={"Bool": {"aws:SecureTransport": "false"}},
            )
            fs = efs.CfnFileSystem(
                self,
                "FileSystem",
                encrypted=True,
                backup_policy=efs.CfnFileSystem.BackupPolicyProperty(status="ENABLED"),
                file_system_policy=iam.PolicyDocument(statements=[deny_plain]).to_json(),
                file_system_tags=[efs.CfnFileSystem.ElasticFileSystemTagProperty(key="Name", value=f"{prefix}-homes")],
            )
            fs.apply_removal_policy(RemovalPolicy.RETAIN)  # users' files outlive the stack
            self.file_system_id: str = fs.ref
            self.file_system_arn: str = fs.attr_arn
        else:
            self.file_system_id = file_system_id
            self.file_system_arn = stack.format_arn(
                service="elasticfilesystem", resource="file-system", resource_name=file_system_id
            )
        self.per_user = any(h.per_user for h in homes)
        self.shared_access_point_id: str | None = None
        shared = [h for h in homes if not h.per_user]
        if shared:
            if shared_access_point_id is None:
                owner = shared[0]  # the loader makes every home of a catalog share one uid/gid
                ap = efs.CfnAccessPoint(
                    self,
                    "SharedAccessPoint",
                    file_system_id=self.file_system_id,
                    posix_user=efs.CfnAccessPoint.PosixUserProperty(uid=str(owner.uid), gid=str(owner.gid)),
                    root_directory=efs.CfnAccessPoint.RootDirectoryProperty(
                        path=SHARED_ROOT,
                        creation_info=efs.CfnAccessPoint.CreationInfoProperty(
                            owner_uid=str(owner.uid), owner_gid=str(owner.gid), permissions=SHARED_PERMISSIONS
                        ),
                    ),
                    access_point_tags=[
                        efs.CfnAccessPoint.AccessPointTagProperty(key="Name", value=f"{prefix}-shared-home")
                    ],
                )
                self.shared_access_point_id = ap.ref
            else:
                self.shared_access_point_id = shared_access_point_id
        via_mount_target = {"Bool": {"elasticfilesystem:AccessedViaMountTarget": "true"}}
        if self.shared_access_point_id is not None:
            shared_arn = stack.format_arn(
                service="elasticfilesystem", resource="access-point", resource_name=self.shared_access_point_id
            )
            task_role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="MountSharedHome",
                    actions=MOUNT_ACTIONS,
                    resources=[self.file_system_arn],
                    conditions={"StringEquals": {"elasticfilesystem:AccessPointArn": shared_arn}, **via_mount_target},
                )
            )
        if any(h.per_user for h in homes):
            any_access_point = stack.format_arn(
                service="elasticfilesystem", resource="access-point", resource_name="fsap-*"
            )
            task_role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="MountPerUserHomes",
                    actions=MOUNT_ACTIONS,
                    resources=[self.file_system_arn],
                    conditions={"ArnLike": {"elasticfilesystem:AccessPointArn": any_access_point}, **via_mount_target},
                )
            )

    def add_mount_targets(
        self,
        *,
        prefix: str,
        vpc_id: str | None,
        task_security_group_id: str | None,
        subnet_ids: Sequence[str],
    ) -> HubHomeMountTargets | None:
        """For a file system made here: its mount targets when the subnets, the VPC and the task security group
        are all given, otherwise a warning that no task can mount a home yet. For a file system from context:
        nothing (it is assumed to have its own mount targets)."""
        if not self.created:
            return None
        if vpc_id is None or task_security_group_id is None or not subnet_ids:
            Annotations.of(self).add_warning_v2(
                NO_MOUNT_TARGETS,
                "the stack creates the EFS file system for the homes but no mount targets, so no task can mount "
                "a home until they exist: set context efs_subnet_ids (a JSON list of the tasks' subnets) with "
                "vpc_id and hub_security_group_id, or add mount targets yourself (docs/efs.md)",
            )
            return None
        return HubHomeMountTargets(
            self,
            "MountTargets",
            file_system_id=self.file_system_id,
            vpc_id=vpc_id,
            subnet_ids=subnet_ids,
            task_security_group_id=task_security_group_id,
            prefix=prefix,
        )

    def hub_statements(self, *, prefix: str) -> list[iam.PolicyStatement]:
        """What the hub's policy needs for per-user homes (none without one), each as narrow as IAM allows.

        EFS: list and create access points on this file system only, creating only with the hub's tag; tag only
        while creating one; delete only access points that carry the hub's tag (an access point's ARN does not
        name its file system, so the tag is what narrows it). ECS: register (and tag while registering) only in
        users' own families `<prefix>-<service>-<size>-u<16 hex>`, never in a family CloudFormation owns; list
        and deregister task definitions (IAM has no resource-level permissions for them). iam:PassRole of the
        two shared roles, which RegisterTaskDefinition needs too, is in the base policy already.
        """
        if not self.per_user:
            return []
        stack = Stack.of(self)
        access_points = stack.format_arn(service="elasticfilesystem", resource="access-point", resource_name="*")
        user_families = stack.format_arn(
            service="ecs", resource="task-definition", resource_name=user_family_pattern(prefix)
        )
        return [
            iam.PolicyStatement(
                sid="ListHomeAccessPointsOfTheFileSystem",
                actions=["elasticfilesystem:DescribeAccessPoints"],
                resources=[self.file_system_arn],
            ),
            iam.PolicyStatement(
                sid="CreateHubTaggedAccessPointsOnTheFileSystem",
                actions=["elasticfilesystem:CreateAccessPoint"],
                resources=[self.file_system_arn],
                conditions={"Null": {f"aws:RequestTag/{TAG_HUB}": "false"}},
            ),
            iam.PolicyStatement(
                sid="TagAccessPointsOnlyWhileCreatingThem",
                actions=["elasticfilesystem:TagResource"],
                resources=[access_points],
                conditions={"StringEquals": {"elasticfilesystem:CreateAction": "CreateAccessPoint"}},
            ),
            iam.PolicyStatement(
                sid="DeleteHubTaggedAccessPoints",
                actions=["elasticfilesystem:DeleteAccessPoint"],
                resources=[access_points],
                conditions={"Null": {f"aws:ResourceTag/{TAG_HUB}": "false"}},
            ),
            iam.PolicyStatement(
                sid="RegisterUsersOwnFamilies",
                actions=["ecs:RegisterTaskDefinition"],
                resources=[user_families],
            ),
            iam.PolicyStatement(
                sid="TagUsersFamiliesOnlyWhileRegistering",
                actions=["ecs:TagResource"],
                resources=[user_families],
                conditions={"StringEquals": {"ecs:CreateAction": "RegisterTaskDefinition"}},
            ),
            iam.PolicyStatement(
                sid="ListAndDeregisterTaskDefinitions",  # no resource-level permissions in IAM for these
                actions=[
                    "ecs:ListTaskDefinitions",
                    "ecs:ListTaskDefinitionFamilies",
                    "ecs:DeregisterTaskDefinition",
                ],
                resources=["*"],
            ),
        ]

    def hub_wildcards(self, *, prefix: str) -> dict[str, str]:
        """The wildcard resources of `hub_statements` as cdk-nag's AwsSolutions-IAM5 names them, with the reason."""
        if not self.per_user:
            return {}
        tokens = "arn:<AWS::Partition>:{service}:<AWS::Region>:<AWS::AccountId>"
        return {
            tokens.format(service="elasticfilesystem") + ":access-point/*": (
                "access point ARNs do not name their file system: TagResource only while CreateAccessPoint "
                f"(on this file system) runs, DeleteAccessPoint only on access points tagged {TAG_HUB}"
            ),
            tokens.format(service="ecs") + f":task-definition/{user_family_pattern(prefix)}": (
                "RegisterTaskDefinition and its tags only in users' own families <prefix>-<service>-<size>-u<16 hex> "
                "(the revision number is chosen by ECS)"
            ),
        }


class HubHomeMountTargets(Construct):
    """One EFS mount target per subnet, in a security group of their own that admits NFS (TCP 2049)
    from the task security group and nothing else.

    L1 resources with the ids as given, so synth makes no lookups. The mount targets never open a
    connection (NFS replies ride on the inbound one), so the group carries aws-cdk-lib's own
    "no egress" rule (what `allow_all_outbound=False` renders) instead of EC2's allow-all default.
    The task security group needs no rule of its own: its egress is EC2's default, all traffic.
    A mount target's logical id is made from its subnet id: reordering the list replaces nothing.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        file_system_id: str,
        vpc_id: str,
        subnet_ids: Sequence[str],
        task_security_group_id: str,
        prefix: str,
    ) -> None:
        super().__init__(scope, construct_id)
        if not subnet_ids or len(set(subnet_ids)) != len(subnet_ids):
            raise ValueError(f"HubHomeMountTargets needs distinct subnet ids, got {list(subnet_ids)!r}")
        self.group = ec2.CfnSecurityGroup(
            self,
            "SecurityGroup",
            vpc_id=vpc_id,
            group_description=f"{prefix} EFS homes mount targets: NFS only from the hub tasks"[:255],
            security_group_ingress=[tcp_from_group(NFS_PORT, task_security_group_id, "NFS from the hub tasks")],
            security_group_egress=[
                ec2.CfnSecurityGroup.EgressProperty(
                    ip_protocol="icmp",
                    from_port=252,
                    to_port=86,
                    cidr_ip="255.255.255.255/32",
                    description="Disallow all traffic",
                )
            ],
        )
        self.mount_targets = [
            efs.CfnMountTarget(
                self,
                subnet_id,
                file_system_id=file_system_id,
                subnet_id=subnet_id,
                security_groups=[self.group.attr_group_id],
            )
            for subnet_id in subnet_ids
        ]


def user_family_pattern(prefix: str) -> str:
    """Every revision of every user's own family (ecsspawner.homes.user_family: `<family>-u<16 hex>`)."""
    return f"{prefix}-*-u{'?' * 16}:*"
