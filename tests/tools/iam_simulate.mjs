// Evaluate AWS requests against identity policies with @cloud-copilot/iam-simulate (a maintained IAM
// simulator: Allow/Deny, resources, every condition operator, the action's own resource types and
// context keys). Input on stdin: {"policies": [{name, policy}], "requests": [{principal, action,
// resource, accountId, context}]}. Output: one JSON object per request, in order, with the result
// ("Allowed", "ImplicitlyDenied", "ExplicitlyDenied"), any validation errors and ignored conditions.
import { runSimulation } from "@cloud-copilot/iam-simulate";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const { policies, requests } = JSON.parse(input);
const out = [];
for (const r of requests) {
  const simulation = {
    identityPolicies: policies,
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    request: {
      principal: r.principal,
      action: r.action,
      resource: { resource: r.resource, accountId: r.accountId },
      contextVariables: r.context || {},
    },
  };
  const result = await runSimulation(simulation, {});
  if (result.resultType === "single") {
    out.push({
      result: result.overallResult,
      errors: null,
      ignoredContextKeys: result.result.ignoredContextKeys || [],
      resourceType: result.result.resourceType || null,
    });
  } else {
    out.push({ result: result.overallResult || null, errors: result.errors || null, kind: result.resultType });
  }
}
console.log(JSON.stringify(out));
