def handler(event, context):
    # A TOKEN authorizer: one accepted token.
    effect = "Allow" if event.get("authorizationToken") == "Bearer cdk-token" else "Deny"
    return {
        "principalId": "cdk-user",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"]}],
        },
    }
