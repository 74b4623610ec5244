// `#aws-sdk-partition` is the AWS SDK's partition() alone (scripts/sdk-partition.mjs says where it
// points and why); its type is the SDK's own, as @aws-sdk/core/client exports it.
declare module '#aws-sdk-partition' {
  export { partition } from '@aws-sdk/core/client';
}
