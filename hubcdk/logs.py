"""One CloudWatch log group per environment, with a retention CloudWatch Logs accepts."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs
from constructs import Construct

# jsii enums carry names, not day counts, so the mapping is spelled out once here.
_RETENTION = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1096: logs.RetentionDays.THREE_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    2192: logs.RetentionDays.SIX_YEARS,
    2557: logs.RetentionDays.SEVEN_YEARS,
    2922: logs.RetentionDays.EIGHT_YEARS,
    3288: logs.RetentionDays.NINE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}


def retention_days(days: int) -> logs.RetentionDays:
    """The RetentionDays member for `days`; ValueError for a value CloudWatch Logs rejects."""
    try:
        return _RETENTION[days]
    except KeyError:
        allowed = ", ".join(str(d) for d in _RETENTION)
        raise ValueError(f"{days} is not a CloudWatch Logs retention; allowed: {allowed}") from None


def log_group_name(prefix: str) -> str:
    """`/ecs/<prefix>`: the environment's log group, named by every task definition's awslogs options."""
    return f"/ecs/{prefix}"


def environment_log_group(scope: Construct, construct_id: str, *, prefix: str, retention: int) -> logs.LogGroup:
    """`/ecs/<prefix>`: named, so operators find it, and kept when the stack is deleted
    (users' server logs outlive a redeploy)."""
    return logs.LogGroup(
        scope,
        construct_id,
        log_group_name=log_group_name(prefix),
        retention=retention_days(retention),
        removal_policy=RemovalPolicy.RETAIN,
    )
