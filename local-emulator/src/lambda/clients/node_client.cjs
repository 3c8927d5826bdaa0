// tollgate's Node.js runtime client.
//
// Runs one Lambda handler against the Runtime API at AWS_LAMBDA_RUNTIME_API (host:port), the way
// AWS's aws-lambda-ric does: the handler named by argv[2] loaded from the working directory
// (CommonJS or ES module), async, promise and callback handlers, the context object, console
// lines prefixed with the time and request id, and error documents shaped as aws-lambda-ric
// shapes them (docs/aws-behaviour.md §14). Only Node's own modules are used.
"use strict";

const fs = require("fs");
const net = require("net");
const path = require("path");
const util = require("util");
const { pathToFileURL } = require("url");

const API = "/2018-06-01/runtime";
const [host, port] = (process.env.AWS_LAMBDA_RUNTIME_API || "").split(":");

/** An error the runtime itself raises; its name is the errorType. */
class RuntimeError extends Error {
  constructor(type, message) {
    super(message);
    this.name = `Runtime.${type}`;
  }
}

// One kept-alive connection to the Runtime API, with HTTP/1.1 written and read here: Node's
// `http` module was most of this client's time per invocation (docs/benchmarks.md). tollgate's
// Runtime API answers with a Content-Length on every response; requests are answered in order,
// so a queue matches answers to the requests waiting for them.
let socket = null;
// What has arrived and not been read yet, in pieces: a large event is joined once, not once per
// piece.
let parts = [];
let size = 0;
let head = null;
const waiting = [];

function connect() {
  socket = net.connect({ host, port });
  socket.setNoDelay(true);
  socket.on("data", (chunk) => {
    parts.push(chunk);
    size += chunk.length;
    readAnswers();
  });
  const fail = (err) => {
    socket = null;
    parts = [];
    size = 0;
    head = null;
    for (const w of waiting.splice(0)) w.reject(err);
  };
  socket.on("error", fail);
  socket.on("close", () => fail(new Error("the Runtime API closed the connection")));
}

/** Everything unread as one buffer; `keepFrom` leaves only what follows that offset unread. */
function unread() {
  return parts.length === 1 ? parts[0] : Buffer.concat(parts, size);
}
function keepFrom(buf, offset) {
  const rest = buf.subarray(offset);
  parts = rest.length ? [rest] : [];
  size = rest.length;
}

function readAnswers() {
  for (;;) {
    if (!head) {
      if (size === 0) return;
      const buf = unread();
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) {
        parts = [buf];
        return;
      }
      const lines = buf.toString("latin1", 0, end).split("\r\n");
      const headers = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(":");
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const length = Number(headers["content-length"] || 0);
      head = { statusCode: Number(lines[0].split(" ")[1]), headers, length };
      keepFrom(buf, end + 4);
    }
    if (size < head.length) return;
    const buf = unread();
    const body = Buffer.from(buf.subarray(0, head.length));
    keepFrom(buf, head.length);
    const res = head;
    head = null;
    const w = waiting.shift();
    // An idle connection must not keep the event loop alive: a callback handler's result goes
    // when the loop drains (as Node's own keep-alive agent unrefs its idle sockets).
    if (waiting.length === 0 && socket) socket.unref();
    if (w) w.resolve({ res, body });
  }
}

// What Node's `http` refuses in a header value (its checkInvalidHeaderChar).
const INVALID_HEADER_CHAR = /[^\t\x20-\x7e\x80-\xff]/;

function request(method, route, body, headers) {
  return new Promise((resolve, reject) => {
    let text = `${method} ${API}${route} HTTP/1.1\r\nHost: ${host}:${port}\r\n`;
    for (const [name, value] of Object.entries(headers || {})) {
      if (INVALID_HEADER_CHAR.test(String(value))) {
        reject(new TypeError(`Invalid character in header content ["${name}"]`));
        return;
      }
      text += `${name}: ${value}\r\n`;
    }
    if (!socket) connect();
    socket.ref();
    waiting.push({ resolve, reject });
    // One write for the head and the body.
    socket.cork();
    socket.write(text + "\r\n", "latin1");
    if (body) socket.write(body);
    socket.uncork();
  });
}

function post(route, value, headers) {
  const body = Buffer.from(typeof value === "string" ? value : JSON.stringify(value));
  return request("POST", route, body, {
    "Content-Type": "application/json",
    "Content-Length": body.length,
    ...headers,
  });
}

/** `{errorType, errorMessage, trace}`: an Error's name, message and stack lines. */
function errorDocument(err) {
  if (err instanceof Error) {
    return {
      errorType: err.name,
      errorMessage: err.message,
      trace: (err.stack || "").split("\n"),
    };
  }
  return { errorType: typeof err, errorMessage: String(err), trace: [] };
}

// console.* as Lambda writes it: time, request id, level, the message with its newlines as \r.
let currentRequestId = undefined;
const LEVELS = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];
const minLevel = Math.max(0, LEVELS.indexOf((process.env.AWS_LAMBDA_LOG_LEVEL || "TRACE").toUpperCase()));
function patchConsole() {
  const write = (level, stream) => (...args) => {
    if (LEVELS.indexOf(level) < minLevel) return;
    const message = util.format(...args).replace(/\n/g, "\r");
    stream.write(`${new Date().toISOString()}\t${currentRequestId}\t${level}\t${message}\n`);
  };
  console.trace = write("TRACE", process.stdout);
  console.debug = write("DEBUG", process.stdout);
  console.info = write("INFO", process.stdout);
  console.log = write("INFO", process.stdout);
  console.warn = write("WARN", process.stdout);
  console.error = write("ERROR", process.stdout);
  console.fatal = write("FATAL", process.stdout);
}

function logError(prefix, err) {
  const doc = errorDocument(err);
  console.error(`${prefix} \t${JSON.stringify({ errorType: doc.errorType, errorMessage: doc.errorMessage, stack: doc.trace })}`);
}

/** The nearest package.json above `dir` (stopping at node_modules) says "type": "module". */
function isModulePackage(dir) {
  let current = dir;
  for (;;) {
    if (path.basename(current) === "node_modules") return false;
    const file = path.join(current, "package.json");
    if (fs.existsSync(file)) {
      try {
        return JSON.parse(fs.readFileSync(file, "utf8")).type === "module";
      } catch {
        return false;
      }
    }
    const parent = path.dirname(current);
    if (parent === current) return false;
    current = parent;
  }
}

// ES modules resolve bare specifiers by walking up from the importing file; NODE_PATH (where
// layers, installed dependencies and the SDK are) is CommonJS-only. Lambda's Node.js 18+ runtimes
// let ES modules import packages from layers too (docs/aws-behaviour.md §14), so before the first
// import() a resolve hook retries a bare specifier that was not found from each NODE_PATH folder.
const ESM_FALLBACK = `
import path from "node:path";
import { pathToFileURL } from "node:url";
const dirs = (process.env.NODE_PATH || "").split(path.delimiter).filter(Boolean);
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (err) {
    if (err?.code !== "ERR_MODULE_NOT_FOUND" || /^(\\.|\\/|[a-z]+:)/i.test(specifier)) throw err;
    for (const dir of dirs) {
      try {
        return await next(specifier, { ...context, parentURL: pathToFileURL(path.join(dir, "index.js")).href });
      } catch {}
    }
    throw err;
  }
}`;
let fallbackRegistered = false;
function importModule(file) {
  const { register } = require("module");
  if (!fallbackRegistered && typeof register === "function" && process.env.NODE_PATH) {
    register(`data:text/javascript,${encodeURIComponent(ESM_FALLBACK)}`);
    fallbackRegistered = true;
  }
  return import(pathToFileURL(file).href);
}

async function loadModule(appRoot, moduleRoot, moduleName) {
  const base = path.resolve(appRoot, moduleRoot, moduleName);
  const exists = (f) => fs.existsSync(f) && fs.statSync(f).isFile();
  if (exists(base)) return require(base);
  if (exists(`${base}.js`)) {
    return isModulePackage(path.dirname(base)) ? importModule(`${base}.js`) : require(`${base}.js`);
  }
  if (exists(`${base}.mjs`)) return importModule(`${base}.mjs`);
  if (exists(`${base}.cjs`)) return require(`${base}.cjs`);
  // A package in node_modules.
  return require(require.resolve(moduleName, { paths: [appRoot, path.resolve(appRoot, moduleRoot)] }));
}

/** The handler `dir/module.property.path`, loaded as aws-lambda-ric loads it. */
async function loadHandler(appRoot, full) {
  if (full.includes("..")) {
    throw new RuntimeError(
      "MalformedHandlerName",
      `'${full}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`,
    );
  }
  const moduleRoot = path.dirname(full);
  const base = path.basename(full);
  const dot = base.indexOf(".");
  if (dot < 0) throw new RuntimeError("MalformedHandlerName", "Bad handler");
  const moduleName = base.slice(0, dot);
  const propertyPath = base.slice(dot + 1);
  let loaded;
  try {
    loaded = await loadModule(appRoot, moduleRoot, moduleName);
  } catch (e) {
    if (e instanceof SyntaxError) throw new RuntimeError("UserCodeSyntaxError", String(e));
    if (e && e.code === "MODULE_NOT_FOUND") throw new RuntimeError("ImportModuleError", String(e));
    throw e;
  }
  let handler = loaded;
  for (const key of propertyPath.split(".")) handler = handler == null ? undefined : handler[key];
  if (handler === undefined) throw new RuntimeError("HandlerNotFound", `${full} is undefined or not exported`);
  if (typeof handler !== "function") throw new RuntimeError("HandlerNotFound", `${full} is not a function`);
  return handler;
}

function context(headers, requestId) {
  const deadline = Number(headers["lambda-runtime-deadline-ms"] || 0);
  const parse = (v) => (v ? JSON.parse(v) : undefined);
  let waits = true;
  return {
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    invokedFunctionArn: headers["lambda-runtime-invoked-function-arn"],
    awsRequestId: requestId,
    tenantId: headers["lambda-runtime-aws-tenant-id"],
    identity: parse(headers["lambda-runtime-cognito-identity"]),
    clientContext: parse(headers["lambda-runtime-client-context"]),
    getRemainingTimeInMillis: () => deadline - Date.now(),
    get callbackWaitsForEmptyEventLoop() {
      return waits;
    },
    set callbackWaitsForEmptyEventLoop(v) {
      waits = v;
    },
  };
}

/** Run one invocation; resolves once its result or error has been posted. */
function invoke(runtime, event, ctx, requestId) {
  return new Promise((done) => {
    let finished = false;
    const finish = (err, value) => {
      if (finished) return;
      finished = true;
      process.removeListener("beforeExit", onBeforeExit);
      if (err !== null && err !== undefined) {
        logError("Invoke Error", err);
        post(`/invocation/${requestId}/error`, errorDocument(err)).then(done, done);
      } else {
        let body;
        try {
          body = JSON.stringify(value === undefined ? null : value);
        } catch (e) {
          finished = false;
          return finish(e);
        }
        post(`/invocation/${requestId}/response`, body === undefined ? "null" : body).then(done, done);
      }
    };
    // Completion when the event loop drains: a callback's result (unless it asked not to wait),
    // or null for a handler that never completed.
    let pending = { set: false, err: null, value: undefined };
    let returnedPromise = false;
    const onBeforeExit = () => {
      if (pending.set) finish(pending.err, pending.value);
      else if (returnedPromise) {
        finish(new RuntimeError("NodeJsExit", "Runtime exited without providing a reason: the handler's Promise was never settled"));
      } else finish(null, null);
    };
    process.on("beforeExit", onBeforeExit);
    const callback = (err, value) => {
      if (ctx.callbackWaitsForEmptyEventLoop) {
        if (!pending.set) pending = { set: true, err, value };
      } else finish(err, value);
    };
    ctx.done = (err, value) => finish(err, value);
    ctx.succeed = (value) => finish(null, value);
    ctx.fail = (err) => finish(err === undefined ? "handled" : err);
    try {
      // Called as a property named `handler`, as aws-lambda-ric calls it, so stack frames read
      // the same (`at exports.fn [as handler]`).
      const result = runtime.handler(event, ctx, callback);
      if (result && typeof result.then === "function") {
        returnedPromise = true;
        result.then((v) => finish(null, v), (e) => finish(e === undefined || e === null ? new Error(String(e)) : e));
      }
    } catch (e) {
      callback(e);
    }
  });
}

async function main() {
  // Output nobody reads, or a Runtime API that is gone, means tollgate has ended: so does this.
  for (const stream of [process.stdout, process.stderr]) stream.on("error", () => process.exit(1));
  patchConsole();
  const handlerName = process.argv[2];
  const appRoot = process.cwd();
  let handler;
  try {
    handler = await loadHandler(appRoot, handlerName);
  } catch (e) {
    logError("Init Error", e);
    const doc = errorDocument(e);
    await post("/init/error", doc, { "Lambda-Runtime-Function-Error-Type": doc.errorType }).catch(() => {});
    process.exit(129);
  }
  // An error escaping the handler fails the current invocation; the process then ends, as
  // aws-lambda-ric's does, and a fresh one serves the next call.
  let current = undefined;
  const fatal = (err, code) => {
    const report = current ? post(`/invocation/${current}/error`, errorDocument(err)) : Promise.resolve();
    report.catch(() => {}).then(() => process.exit(code));
  };
  process.on("uncaughtException", (err) => {
    logError("Uncaught Exception", err);
    fatal(err, 129);
  });
  process.on("unhandledRejection", (reason) => {
    const err = new RuntimeError("UnhandledPromiseRejection", String(reason));
    logError("Unhandled Promise Rejection", err);
    fatal(err, 128);
  });
  for (;;) {
    const { res, body } = await request("GET", "/invocation/next").catch(() => process.exit(1));
    const requestId = res.headers["lambda-runtime-aws-request-id"];
    current = requestId;
    currentRequestId = requestId;
    if (res.headers["lambda-runtime-trace-id"]) process.env._X_AMZN_TRACE_ID = res.headers["lambda-runtime-trace-id"];
    else delete process.env._X_AMZN_TRACE_ID;
    let event;
    try {
      event = JSON.parse(body.toString("utf8"));
    } catch (e) {
      await post(`/invocation/${requestId}/error`, errorDocument(e));
      continue;
    }
    await invoke({ handler }, event, context(res.headers, requestId), requestId);
    current = undefined;
  }
}

main();
