"""Per-user EFS homes against moto's EFS and ECS: own access point and family per user, reuse, restart,
clean-up of one user only, the isolation property, and refusals as SpawnExceptions.

moto's CreateAccessPoint ignores ClientToken (every call creates one): idempotency here is the
spawner's lookup by tag, and the token is checked as sent."""

from __future__ import annotations

import asyncio

import pytest
from jupyterhub.spawner import SpawnException

from ecsspawner.homes import TAG_HOME, home_access_point, home_key, user_family
from ecsspawner.identity import TAG_HUB, TAG_INSTALL
from tests.spawner.conftest import HUB_ID, PREFIX, ecs_error

LAB = {"service": "lab", "size": "small"}


def run(coro):
    return asyncio.run(coro)


def access_points(aws) -> dict[str, dict]:
    """This file system's access points by home key."""
    points = aws.efs().describe_access_points(FileSystemId=aws.file_system_id)["AccessPoints"]
    return {t["Value"]: p for p in points for t in p["Tags"] if t["Key"] == TAG_HOME}


def definition_of_task(aws, arn: str) -> dict:
    task_definition = aws.task(arn).task_definition_arn
    return aws.client().describe_task_definition(taskDefinition=task_definition)["taskDefinition"]


@pytest.fixture(autouse=True)
def _clean_access_points(aws):
    """The EFS mock lives for the session: each test starts with no access points."""
    for point in aws.efs().describe_access_points(FileSystemId=aws.file_system_id)["AccessPoints"]:
        aws.efs().delete_access_point(AccessPointId=point["AccessPointId"])


def test_two_users_each_get_their_own_access_point_and_family(hub, aws):
    async def scenario():
        ann = await hub.spawn(hub.user("ann"), "", LAB)
        ben = await hub.spawn(hub.user("ben"), "", LAB)
        return ann, ben

    ann, ben = run(scenario())
    points = access_points(aws)
    assert set(points) == {home_key(HUB_ID, "ann"), home_key(HUB_ID, "ben")}
    for spawner, name in ((ann, "ann"), (ben, "ben")):
        point = points[home_key(HUB_ID, name)]
        assert point["RootDirectory"]["Path"] == f"/home/{home_key(HUB_ID, name)}"
        assert point["PosixUser"] == {"Uid": 1000, "Gid": 100}
        tags = {t["Key"]: t["Value"] for t in point["Tags"]}
        assert tags[TAG_HUB] == HUB_ID and tags[TAG_INSTALL] == spawner.install_id
        definition = definition_of_task(aws, spawner.task_arn)
        assert definition["family"] == user_family(f"{PREFIX}-lab-small", HUB_ID, name)
        (volume,) = definition["volumes"]
        assert volume["efsVolumeConfiguration"]["authorizationConfig"] == {
            "accessPointId": point["AccessPointId"],
            "iam": "ENABLED",
        }
        assert volume["efsVolumeConfiguration"]["transitEncryption"] == "ENABLED"
    # the synthesized family gained no revision: its latest is still what CDK deployed
    latest = aws.client().describe_task_definition(taskDefinition=f"{PREFIX}-lab-small")["taskDefinition"]
    assert latest["revision"] == 1 and home_access_point(latest) is None


def test_second_spawn_and_a_restarted_hub_reuse_the_access_point_and_revision(hub, aws):
    async def spawn_stop(h):
        spawner = await h.spawn(h.user("cat"), "", LAB)
        arn = aws.task(spawner.task_arn).task_definition_arn
        await h.user("cat").stop("")
        return arn

    first = run(spawn_stop(hub))
    second = run(spawn_stop(hub))
    from ecsspawner import homes

    homes.reset_shared()  # a new hub process: nothing cached, found again by tag and by the user's family
    third = run(spawn_stop(hub.restart()))
    assert first == second == third
    assert len(access_points(aws)) == 1  # stopping deleted nothing; nothing was created twice


def test_isolation_every_task_runs_a_definition_naming_its_own_users_access_point(hub, aws):
    """Whatever order users spawn in, a task's home volume names the access point tagged with its user's key,
    and its family is that user's: no spawn can run another user's access point."""

    async def scenario():
        launched = []
        for name in ["dan", "eve", "dan", "fay", "eve", "dan"]:
            user = hub.user(name)
            spawner = await hub.spawn(user, "", LAB)
            launched.append((name, spawner.task_arn))
            await user.stop("")
        return launched

    launched = run(scenario())
    by_id = {p["AccessPointId"]: key for key, p in access_points(aws).items()}
    for name, task_arn in launched:
        definition = definition_of_task(aws, task_arn)
        assert by_id[home_access_point(definition)] == home_key(HUB_ID, name)
        assert definition["family"] == user_family(f"{PREFIX}-lab-small", HUB_ID, name)
        assert aws.task(task_arn).task_definition_arn.endswith(f"{definition['family']}:{definition['revision']}")


def test_clean_up_of_a_deleted_user_removes_only_theirs(hub, aws):
    async def scenario():
        for name in ("gus", "hal"):
            await hub.spawn(hub.user(name), "", LAB)
            await hub.user(name).stop("")
        spawner = hub.spawner(hub.user("gus"))
        await spawner.delete_forever()  # what JupyterHub calls when it deletes the user

    run(scenario())
    assert set(access_points(aws)) == {home_key(HUB_ID, "hal")}
    ecs = aws.client()
    for name, left in (("gus", []), ("hal", [1])):
        family = user_family(f"{PREFIX}-lab-small", HUB_ID, name)
        active = ecs.list_task_definitions(familyPrefix=family, status="ACTIVE")["taskDefinitionArns"]
        assert [int(a.rsplit(":", 1)[1]) for a in active] == left
    assert ecs.list_task_definitions(familyPrefix=f"{PREFIX}-lab-small", status="ACTIVE")["taskDefinitionArns"]


def test_deleting_a_named_server_keeps_the_users_home(hub, aws):
    async def scenario():
        await hub.spawn(hub.user("ida"), "exp", LAB)
        await hub.user("ida").stop("exp")
        await hub.spawner(hub.user("ida"), "exp").delete_forever()

    run(scenario())
    assert set(access_points(aws)) == {home_key(HUB_ID, "ida")}


def test_access_point_refused_is_a_spawn_exception_naming_the_efs_call(hub_with, aws):
    import boto3
    from botocore.stub import Stubber

    efs = boto3.client("efs", region_name="us-east-1")
    stub = Stubber(efs)
    stub.add_response("describe_access_points", {"AccessPoints": []})
    stub.add_client_error(
        "create_access_point",
        service_error_code="AccessPointLimitExceeded",
        service_message="You have reached the maximum number of access points (10000) for your file system",
        http_status_code=403,
    )
    stub.activate()
    hub = hub_with(efs_client_factory=lambda: efs)
    with pytest.raises(SpawnException) as err:
        run(hub.spawn(hub.user("jo"), "", LAB))
    assert err.value.message == (
        "Your home directory could not be prepared: EFS CreateAccessPoint failed: AccessPointLimitExceeded: "
        "You have reached the maximum number of access points (10000) for your file system"
    )
    assert not aws.running()  # nothing was launched


def test_create_access_point_is_retried_when_throttled_with_one_client_token(hub_with, aws):
    import json

    from ecsspawner import aws as aws_calls

    efs = aws_calls.make_client("us-east-1", max_attempts=5, service="efs")
    tokens: list[str] = []
    throttled = [True]

    def reply(request, **_):
        if b"ClientToken" not in (request.body or b""):
            return None
        tokens.append(json.loads(request.body)["ClientToken"])
        if throttled:
            throttled.pop()
            from botocore.awsrequest import AWSResponse

            body = json.dumps(ecs_error("ThrottlingException", "Rate exceeded")).encode()

            class Raw:
                def stream(self, **_):
                    yield body

            return AWSResponse(request.url, 400, {"x-amzn-ErrorType": "ThrottlingException"}, Raw())
        return None

    efs.meta.events.register_first("before-send", reply)
    hub = hub_with(efs_client_factory=lambda: efs)
    run(hub.spawn(hub.user("kit"), "", LAB))
    assert len(tokens) == 2 and tokens[0] == tokens[1]
    assert set(access_points(aws)) == {home_key(HUB_ID, "kit")}


def test_a_per_user_service_without_a_file_system_is_a_config_error(hub_with, aws):
    hub = hub_with(efs_file_system_id="")
    with pytest.raises(SpawnException) as err:
        run(hub.spawn(hub.user("lu"), "", LAB))
    assert "home directories are not configured" in err.value.message
    assert not aws.running()
