"""py-hello: a Python handler run through the official runtime interface client (awslambdaric),
proving tollgate's Runtime API host serves more than Rust."""

import json
import os


def handler(event, context):
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(
            {
                "message": "hello from python",
                "path": event.get("path"),
                "requestId": context.aws_request_id,
                "function": os.environ.get("AWS_LAMBDA_FUNCTION_NAME"),
                "greeting": os.environ.get("GREETING"),
            }
        ),
    }
