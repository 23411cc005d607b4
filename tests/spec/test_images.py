"""Which image references are private ECR repositories (the execution role needs pull rights on those)."""

from __future__ import annotations

import pytest

from hubspec.images import ecr_repository


@pytest.mark.parametrize(
    ("image", "arn"),
    [
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/chat:1.4", "arn:aws:ecr:eu-west-1:123456789012:repository/chat"),
        (
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/lab",
            "arn:aws:ecr:us-east-1:123456789012:repository/team/lab",
        ),
        (
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/a.b_c-d@sha256:" + "0" * 64,
            "arn:aws:ecr:us-east-1:123456789012:repository/a.b_c-d",
        ),
        (
            "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com/x:1",
            "arn:aws-us-gov:ecr:us-gov-west-1:123456789012:repository/x",
        ),
        ("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/x:1", "arn:aws-cn:ecr:cn-north-1:123456789012:repository/x"),
    ],
)
def test_private_ecr_images_name_their_repository(image, arn):
    repository = ecr_repository(image)
    assert repository is not None and repository.arn == arn


@pytest.mark.parametrize(
    "image",
    [
        "calliopeai/calliope-data-agent:ui-latest",  # Docker Hub
        "public.ecr.aws/team/waiide:2",  # ECR Public: anonymous pulls
        "registry.example/x:1",
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com.evil.example/x:1",
        "12345.dkr.ecr.eu-west-1.amazonaws.com/x:1",  # not an account id
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/",
    ],
)
def test_other_images_are_not_ecr(image):
    assert ecr_repository(image) is None
