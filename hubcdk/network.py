"""The tasks' security group: only the hub reaches a server, and only on the service's port.

On awsvpc every port a container listens on is open on the task's network interface:
a port mapping filters nothing. Sidecars (chat's 3000 and 5000, waiide's 8071) would
answer any peer the security group admits, and with the usual self-referencing group
one user's server could reach another user's sidecars without the hub's auth. This
group admits, per distinct service `port` of the catalog, TCP from the hub's security
group only; nothing else gets in (not even other tasks in the same group). Egress is
left at the EC2 default (all), which image pulls, logs, the hub's API and the EFS mount
targets (NFS, TCP 2049: `hubcdk.efs.HubHomeMountTargets`) need.

An L1 `CfnSecurityGroup` with the VPC id, so synth makes no lookups and stays
environment-agnostic.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from hubspec.model import ServiceSpec


def service_ports(services: Sequence[ServiceSpec]) -> dict[int, list[str]]:
    """Each distinct service port -> the services that serve on it (sorted), lowest port first."""
    ports: dict[int, list[str]] = {}
    for spec in services:
        ports.setdefault(spec.port, []).append(spec.name)
    return {port: sorted(names) for port, names in sorted(ports.items())}


def tcp_from_group(port: int, source_group_id: str, description: str) -> ec2.CfnSecurityGroup.IngressProperty:
    """An inbound rule: TCP on one port, from one security group only (no CIDR)."""
    return ec2.CfnSecurityGroup.IngressProperty(
        ip_protocol="tcp",
        from_port=port,
        to_port=port,
        source_security_group_id=source_group_id,
        description=description[:255],
    )


class HubTaskSecurityGroup(Construct):
    """A security group for the hub's tasks admitting only the hub's security group on the service ports."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc_id: str,
        hub_security_group_id: str,
        services: Sequence[ServiceSpec],
        prefix: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.ports = service_ports(services)
        self.group = ec2.CfnSecurityGroup(
            self,
            "Resource",
            vpc_id=vpc_id,
            group_description=f"{prefix} hub tasks: only the hub, only on service ports"[:255],
            security_group_ingress=[
                tcp_from_group(port, hub_security_group_id, f"hub to {', '.join(names)} on {port}")
                for port, names in self.ports.items()
            ],
        )

    @property
    def group_id(self) -> str:
        return self.group.attr_group_id
