export declare const sdkPartitionAlias: Record<'#aws-sdk-partition', string>;
