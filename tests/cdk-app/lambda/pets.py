import json
import os


def handler(event, context):
    # A proxy handler for both API kinds: REST (1.0) and HTTP API (2.0) events.
    ctx = event.get("requestContext", {})
    authorizer = ctx.get("authorizer") or {}
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({
            "table": os.environ.get("TABLE"),
            "version": event.get("version", "1.0"),
            "route": event.get("resource") or event.get("routeKey"),
            "stage": ctx.get("stage"),
            "principal": authorizer.get("principalId"),
            "subject": (authorizer.get("jwt") or {}).get("claims", {}).get("sub"),
        }),
    }
