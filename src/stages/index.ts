// The stage registry, in seed-step order (the numbers accepted by --from/--only).
// Stage modules import their SDKs lazily, so loading this list stays cheap.
import type { AnyStage } from '../engine/stage.js';
import { STAGE_IDS } from '../types.js';
import { accessCheckStage } from './access-check.js';
import { clusterStage } from './cluster.js';
import { connectionStage } from './connection.js';
import { contextStage } from './context.js';
import { deploymentConnectionStage } from './deployment-connection.js';
import { iamRoleStage } from './iam-role.js';
import { identityMappingStage } from './identity-mapping.js';
import { k8sRoleStage } from './k8s-role.js';
import { namespaceStage } from './namespace.js';
import { podIdentityStage } from './pod-identity.js';
import { podRoleStage } from './pod-role.js';
import { podServiceAccountStage } from './pod-service-account.js';
import { preflightStage } from './preflight.js';
import { projectFilesStage } from './project-files.js';
import { roleArnStage } from './role-arn.js';
import { roleBindingStage } from './role-binding.js';
import { verifyMappingStage } from './verify-mapping.js';

export const allStages: readonly AnyStage[] = [
  preflightStage,
  clusterStage,
  contextStage,
  namespaceStage,
  k8sRoleStage,
  iamRoleStage,
  roleArnStage,
  identityMappingStage,
  verifyMappingStage,
  roleBindingStage,
  accessCheckStage,
  connectionStage,
  projectFilesStage,
  deploymentConnectionStage,
  podIdentityStage,
  podRoleStage,
  podServiceAccountStage,
];

// The order above is the interface (step numbers); keep it in lockstep with STAGE_IDS.
allStages.forEach((s, i) => {
  if (s.id !== STAGE_IDS[i]) throw new Error(`internal: stage ${i} is ${s.id}, expected ${STAGE_IDS[i]}`);
});
