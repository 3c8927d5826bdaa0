"""tollgate's Python runtime client.

Runs one Lambda handler against the Runtime API at AWS_LAMBDA_RUNTIME_API (host:port), the way
AWS's awslambdaric does: the handler named by argv[1] resolved at its last dot, the context
object, the event decoded only when it is sent as application/json, and errors shaped as
awslambdaric shapes them (docs/aws-behaviour.md §14). Only the standard library is used, so a
plain `python3` runs it.
"""

import decimal
import http.client
import importlib
import json
import logging
import os
import sys
import time
import traceback

API = "/2018-06-01/runtime"
CLIENT_FILE = os.path.abspath(__file__)


class FaultException(Exception):
    """An error the runtime itself reports: its errorType is fixed, not the class name."""

    def __init__(self, error_type, message, trace=None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace


class RuntimeApi:
    """The Runtime API over one kept-alive connection."""

    def __init__(self, address):
        self.address = address
        self.conn = http.client.HTTPConnection(address)

    def request(self, method, path, body=None, headers=None):
        for attempt in (1, 2):
            try:
                self.conn.request(method, API + path, body=body, headers=headers or {})
                response = self.conn.getresponse()
                return response, response.read()
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.address)
                if attempt == 2:
                    raise

    def next(self):
        response, body = self.request("GET", "/invocation/next")
        if response.status != 200:
            raise RuntimeError(f"/next answered {response.status}: {body!r}")
        return response, body

    def post(self, path, body, content_type="application/json", headers=None):
        all_headers = {"Content-Type": content_type}
        all_headers.update(headers or {})
        self.request("POST", path, body=body, headers=all_headers)


class ClientContext:
    def __init__(self, custom, env, client):
        self.custom = custom
        self.env = env
        self.client = client


class Client:
    def __init__(self, data):
        self.installation_id = data.get("installation_id")
        self.app_title = data.get("app_title")
        self.app_version_name = data.get("app_version_name")
        self.app_version_code = data.get("app_version_code")
        self.app_package_name = data.get("app_package_name")


class CognitoIdentity:
    def __init__(self, identity_id=None, pool_id=None):
        self.cognito_identity_id = identity_id
        self.cognito_identity_pool_id = pool_id


class LambdaContext:
    def __init__(self, request_id, deadline_ms, invoked_arn, client_context, identity, tenant_id):
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_arn
        self.tenant_id = tenant_id
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        # A string, as in awslambdaric.
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self._deadline_ms = deadline_ms
        self.client_context = None
        if client_context:
            cc = json.loads(client_context)
            self.client_context = ClientContext(
                cc.get("custom"), cc.get("env"), Client(cc.get("client") or {})
            )
        self.identity = CognitoIdentity()
        if identity:
            ci = json.loads(identity)
            self.identity = CognitoIdentity(
                ci.get("cognitoIdentityId"), ci.get("cognitoIdentityPoolId")
            )

    def get_remaining_time_in_millis(self):
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def log(self, msg):
        sys.stdout.write(str(msg))


def user_frames(tb):
    """The traceback's frames outside this client, formatted as traceback.format_list does."""
    frames = [f for f in traceback.extract_tb(tb) if os.path.abspath(f.filename) != CLIENT_FILE]
    return traceback.format_list(frames)


def error_document(error, request_id=""):
    if isinstance(error, FaultException):
        return {
            "errorMessage": error.message,
            "errorType": error.error_type,
            "requestId": request_id,
            "stackTrace": error.trace if error.trace is not None else [],
        }
    return {
        "errorMessage": str(error),
        "errorType": type(error).__name__,
        "requestId": request_id,
        "stackTrace": user_frames(error.__traceback__),
    }


def log_error(doc):
    """One line, its parts joined by \\r, as awslambdaric writes an error report."""
    parts = [f"[ERROR] {doc['errorType']}: {doc['errorMessage']}"]
    trace = doc["stackTrace"]
    if trace:
        parts.append("Traceback (most recent call last):")
        for frame in trace if isinstance(trace, list) else [trace]:
            parts.extend(line.replace("  ", "\u00a0\u00a0") for line in frame.rstrip("\n").split("\n"))
    sys.stdout.write("\r".join(parts) + "\n")
    sys.stdout.flush()


def load_handler(name):
    """The handler `module.function`, split at the last dot; `/` in the module is a package path."""
    try:
        module_name, function_name = name.rsplit(".", 1)
    except ValueError as e:
        raise FaultException("Runtime.MalformedHandlerName", f"Bad handler '{name}': {e}")
    module_name = module_name.replace("/", ".")
    if module_name.split(".")[0] in sys.builtin_module_names:
        raise FaultException(
            "Runtime.BuiltInModuleConflict",
            f"Cannot use built-in module {module_name.split('.')[0]} as a handler module",
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise FaultException("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {e}")
    except SyntaxError as e:
        trace = [f'  File "{e.filename}" Line {e.lineno}\n    {(e.text or "").strip()}\n']
        raise FaultException(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {e}", trace
        )
    try:
        return getattr(module, function_name)
    except AttributeError:
        raise FaultException(
            "Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'"
        )


def encode(result):
    """The response body: bytes as they are, anything else as JSON (Decimals as numbers)."""
    if isinstance(result, (bytes, bytearray)):
        return bytes(result), "application/unknown"

    def default(o):
        if isinstance(o, decimal.Decimal):
            return int(o) if o == o.to_integral_value() else float(o)
        raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")

    runtime = os.environ.get("AWS_EXECUTION_ENV", "")
    raw_unicode = runtime.startswith("AWS_Lambda_python3.") and runtime[len("AWS_Lambda_python3."):].isdigit() \
        and int(runtime[len("AWS_Lambda_python3."):]) >= 12
    try:
        text = json.dumps(result, default=default, ensure_ascii=not raw_unicode)
    except (TypeError, ValueError) as e:
        raise FaultException("Runtime.MarshalError", f"Unable to marshal response: {e}")
    return text.encode("utf-8"), "application/json"


class LambdaFormatter(logging.Formatter):
    """`[LEVEL]\\t<UTC time>\\t<request id>\\t<message>`, as awslambdaric's root logger writes."""

    request_id = ""

    def format(self, record):
        when = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        millis = int(record.msecs)
        return f"[{record.levelname}]\t{when}.{millis:03d}Z\t{LambdaFormatter.request_id}\t{record.getMessage()}"


def setup_logging():
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(LambdaFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    if level:
        root.setLevel({"TRACE": "DEBUG"}.get(level, level))


def main():
    handler_name = sys.argv[1]
    task_root = os.environ.get("LAMBDA_TASK_ROOT") or os.getcwd()
    # The function's folder comes first on the path; this client's own folder is not on it.
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(CLIENT_FILE)]
    sys.path.insert(0, task_root)
    setup_logging()
    api = RuntimeApi(os.environ["AWS_LAMBDA_RUNTIME_API"])
    try:
        handler = load_handler(handler_name)
    except Exception as e:
        doc = error_document(e)
        log_error(doc)
        api.post(
            "/init/error",
            json.dumps(doc).encode("utf-8"),
            headers={"Lambda-Runtime-Function-Error-Type": doc["errorType"]},
        )
        sys.exit(1)
    while True:
        response, body = api.next()
        headers = response.headers
        request_id = headers.get("Lambda-Runtime-Aws-Request-Id", "")
        LambdaFormatter.request_id = request_id
        trace_id = headers.get("Lambda-Runtime-Trace-Id")
        if trace_id:
            os.environ["_X_AMZN_TRACE_ID"] = trace_id
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        try:
            context = LambdaContext(
                request_id,
                int(headers.get("Lambda-Runtime-Deadline-Ms", "0")),
                headers.get("Lambda-Runtime-Invoked-Function-Arn"),
                headers.get("Lambda-Runtime-Client-Context"),
                headers.get("Lambda-Runtime-Cognito-Identity"),
                headers.get("Lambda-Runtime-Aws-Tenant-Id"),
            )
        except ValueError as e:
            doc = error_document(FaultException("Runtime.LambdaContextUnmarshalError", str(e)), request_id)
            log_error(doc)
            api.post(f"/invocation/{request_id}/error", json.dumps(doc).encode("utf-8"))
            continue
        # Decoded only when sent as exactly application/json, as awslambdaric does.
        if headers.get("Content-Type") == "application/json":
            try:
                event = json.loads(body)
            except ValueError as e:
                doc = error_document(FaultException("Runtime.UnmarshalError", f"Unable to unmarshal input: {e}"), request_id)
                log_error(doc)
                api.post(f"/invocation/{request_id}/error", json.dumps(doc).encode("utf-8"))
                continue
        else:
            event = body
        try:
            result = handler(event, context)
            payload, content_type = encode(result)
        except Exception as e:
            doc = error_document(e, request_id)
            log_error(doc)
            api.post(f"/invocation/{request_id}/error", json.dumps(doc).encode("utf-8"))
            continue
        api.post(f"/invocation/{request_id}/response", payload, content_type)


if __name__ == "__main__":
    main()
