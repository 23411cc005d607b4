"""The hub's CDK app wiring: context -> validated inputs -> one thin stack.

`stacks.context` and `stacks.inputs` are plain Python, so bad input is
reported before aws-cdk-lib (and its Node.js process) is even imported.
"""
