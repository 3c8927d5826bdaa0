// The CDK app whose `cdk synth` output is tests/fixtures/cdk/cdk.out: what a CDK user hands
// tollgate. scripts/cdk-synth.sh synthesises it again and fails when the output differs.
const path = require("path");
const cdk = require("aws-cdk-lib");
const lambda = require("aws-cdk-lib/aws-lambda");
const apigw = require("aws-cdk-lib/aws-apigateway");
const apigwv2 = require("aws-cdk-lib/aws-apigatewayv2");
const { HttpLambdaIntegration } = require("aws-cdk-lib/aws-apigatewayv2-integrations");
const { HttpJwtAuthorizer } = require("aws-cdk-lib/aws-apigatewayv2-authorizers");

// One asset per stack: CDK binds an asset to the stack that first uses it.
const code = () => lambda.Code.fromAsset(path.join(__dirname, "lambda"));

function pets(scope, assetCode) {
  return new lambda.Function(scope, "Pets", {
    runtime: lambda.Runtime.PYTHON_3_12,
    handler: "pets.handler",
    code: assetCode,
    environment: { TABLE: "pets-table" },
    timeout: cdk.Duration.seconds(10),
  });
}

// REST: RestApi with LambdaIntegration, a TOKEN authorizer, a usage plan and key; and a
// SpecRestApi whose OpenAPI body is written inline. The default synthesizer.
class RestStack extends cdk.Stack {
  constructor(scope, id, props) {
    super(scope, id, props);
    const assetCode = code();
    const fn = pets(this, assetCode);
    const authorizerFn = new lambda.Function(this, "Authorizer", {
      runtime: lambda.Runtime.PYTHON_3_12,
      handler: "authorizer.handler",
      code: assetCode,
    });
    const api = new apigw.RestApi(this, "PetsApi", {
      deployOptions: { stageName: "dev", variables: { flavour: "cdk" } },
    });
    const auth = new apigw.TokenAuthorizer(this, "TokenAuth", {
      handler: authorizerFn,
      resultsCacheTtl: cdk.Duration.seconds(0),
    });
    const petsResource = api.root.addResource("pets");
    petsResource.addMethod("GET", new apigw.LambdaIntegration(fn), { apiKeyRequired: true });
    petsResource.addResource("{id}").addMethod("GET", new apigw.LambdaIntegration(fn));
    api.root.addResource("secure").addMethod("GET", new apigw.LambdaIntegration(fn), { authorizer: auth });
    const key = api.addApiKey("Key", { apiKeyName: "cdk-key", value: "cdk-key-value-0123456789" });
    const plan = api.addUsagePlan("Plan", { quota: { limit: 2, period: apigw.Period.DAY } });
    plan.addApiKey(key);
    plan.addApiStage({ stage: api.deploymentStage });

    new PetsNested(this, "Nested", { table: new cdk.CfnParameter(this, "NestedTable", { default: "nested-table" }).valueAsString });

    new apigw.SpecRestApi(this, "SpecApi", {
      deployOptions: { stageName: "spec" },
      apiDefinition: apigw.ApiDefinition.fromInline({
        openapi: "3.0.1",
        info: { title: "spec", version: "1" },
        paths: {
          "/spec": {
            get: {
              "x-amazon-apigateway-integration": {
                type: "aws_proxy",
                httpMethod: "POST",
                uri: cdk.Fn.sub(
                  "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Arn}/invocations",
                  { Arn: fn.functionArn },
                ),
              },
            },
          },
        },
      }),
    });
  }
}

// A NestedStack with its own function and API; the parent passes it a value as a parameter.
class PetsNested extends cdk.NestedStack {
  constructor(scope, id, props) {
    super(scope, id, props);
    const fn = new lambda.Function(this, "Nested", {
      runtime: lambda.Runtime.PYTHON_3_12,
      handler: "pets.handler",
      code: code(),
      environment: { TABLE: props.table },
    });
    const api = new apigw.RestApi(this, "NestedApi", { deployOptions: { stageName: "nested" } });
    api.root.addResource("nested").addMethod("GET", new apigw.LambdaIntegration(fn));
  }
}

// HTTP: HttpApi with HttpLambdaIntegration behind a JWT authorizer whose issuer is a stack
// parameter. The legacy synthesizer, so the assets are parameters without a Default.
class HttpStack extends cdk.Stack {
  constructor(scope, id, props) {
    super(scope, id, props);
    const issuer = new cdk.CfnParameter(this, "JwtIssuer", { type: "String" });
    const fn = pets(this, code());
    const api = new apigwv2.HttpApi(this, "NotesApi");
    const jwt = new HttpJwtAuthorizer("Jwt", issuer.valueAsString, { jwtAudience: ["tollgate-tests"] });
    api.addRoutes({
      path: "/notes/{id}",
      methods: [apigwv2.HttpMethod.GET],
      integration: new HttpLambdaIntegration("Notes", fn),
      authorizer: jwt,
    });
    api.addRoutes({
      path: "/open",
      methods: [apigwv2.HttpMethod.GET],
      integration: new HttpLambdaIntegration("Open", fn),
    });
  }
}

const app = new cdk.App();
new RestStack(app, "RestStack");
new HttpStack(app, "HttpStack", { synthesizer: new cdk.LegacyStackSynthesizer() });
app.synth();
