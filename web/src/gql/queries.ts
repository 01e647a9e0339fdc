// The app's operations, with result types built from the generated schema types.
import type {
  ActivityDay, Anomaly, Campaign, CampaignMetrics, CampaignSnapshot, Cluster, ClusterMap, ClusterSummary,
  Counterparty, Job, Lift, ModelInfo, NeighbourEdge, PageInfo, ProfileImage, Segment, SegmentPreview,
  SegmentTypology, Transfer, Typology, TypologyCount, Wallet, WalletStats,
} from "./schema";
import { FIELDS, WALLET_SECTIONS } from "./schema";

/** Whether the API the app was built against has `type.field`. */
export function has(type: string, field: string): boolean {
  return FIELDS[type]?.includes(field) ?? false;
}

const NODE = "address labels name typology { code } anomaly { score flagged }";

export type NodeLite = Pick<Wallet, "address" | "labels" | "name"> & {
  typology: Pick<Typology, "code"> | null;
  anomaly: Pick<Anomaly, "score" | "flagged"> | null;
};

const SECTIONS = Object.values(WALLET_SECTIONS).join("\n    ");

export const WALLET = `query Wallet($address: String!) {
  wallet(address: $address) {
    address labels category name symbol analyzedAt ppr
    stats { inDegree outDegree inTx outTx fanIn fanOut inValue outValue firstSeen lastSeen }
    typology { code axes { axis value probability } }
    cluster { id version profile }
    anomaly { score rank flagged model version explanation { factor contribution } }
    profile { imageUrl metadataUrl source }
    counterparties(first: 25) { address sent received transfers wallet { ${NODE} } }
    ${SECTIONS}
  }
}`;

export type WalletData = Pick<Wallet, "address" | "labels" | "category" | "name" | "symbol" | "analyzedAt" | "ppr"> & {
  stats: WalletStats | null;
  typology: Typology | null;
  cluster: Cluster | null;
  anomaly: Anomaly | null;
  profile: ProfileImage | null;
  counterparties: (Omit<Counterparty, "wallet"> & { wallet: NodeLite | null })[];
  [section: string]: unknown;
};

export const ACTIVITY = `query Activity($address: String!) { wallet(address: $address) { activity { day valueIn valueOut transfersIn transfersOut } } }`;
export type ActivityData = { wallet: { activity: ActivityDay[] } | null };

export const TRANSFERS = `query Transfers($address: String!, $direction: Direction!, $since: Int, $until: Int, $first: Int!, $after: String) {
  wallet(address: $address) {
    transfers(direction: $direction, since: $since, until: $until, first: $first, after: $after) {
      edges { cursor node { hash logIndex fromAddress toAddress value token ts block status fee } }
      pageInfo { hasNextPage endCursor }
    }
  }
}`;
export type TransferRow = Pick<Transfer, "hash" | "logIndex" | "fromAddress" | "toAddress" | "value" | "token" | "ts" | "block" | "status" | "fee">;
export type TransfersData = { wallet: { transfers: { edges: { cursor: string; node: TransferRow }[]; pageInfo: PageInfo } } | null };

export const NEIGHBOURHOOD = `query Neighbourhood($address: String!, $limit: Int!) {
  wallet(address: $address) {
    neighbourhood(hops: 1, limit: $limit) {
      center addresses truncated
      edges { fromAddress toAddress transfers value }
      nodes { ${NODE} }
    }
  }
}`;
export type NeighbourhoodData = {
  wallet: { neighbourhood: { center: string; addresses: string[]; truncated: boolean; edges: NeighbourEdge[]; nodes: NodeLite[] } } | null;
};

export const ANALYZE = `mutation Analyze($address: String!, $force: Boolean!) { analyzeWallet(address: $address, force: $force) { ${"id kind status progress message error errorCode"} } }`;
export type JobLite = Pick<Job, "id" | "kind" | "status" | "progress" | "message" | "error" | "errorCode">;
export type AnalyzeData = { analyzeWallet: JobLite };

export const JOB_UPDATES = `subscription JobUpdates($id: ID!) { jobUpdates(id: $id) { id kind status progress message error errorCode } }`;
export type JobUpdatesData = { jobUpdates: JobLite };

export const TOP_ANOMALIES = `query Top($first: Int!) { topAnomalies(first: $first) { ${NODE} cluster { id } anomaly { rank explanation { factor contribution } } stats { fanIn fanOut inValue outValue } } }`;
export type TopWallet = NodeLite & { cluster: Pick<Cluster, "id"> | null; anomaly: (Pick<Anomaly, "score" | "flagged" | "rank" | "explanation">) | null; stats: Pick<WalletStats, "fanIn" | "fanOut" | "inValue" | "outValue"> | null };
export type TopData = { topAnomalies: TopWallet[] };

export const OVERVIEW = `query Overview { typologies { code wallets share } clusters { id wallets flagged meanAnomaly profile } ${has("Query", "clusterMap") ? "clusterMap { version x y cluster }" : ""} }`;
export type OverviewData = { typologies: TypologyCount[]; clusters: ClusterSummary[]; clusterMap?: ClusterMap | null };

export const PREVIEW = `query Preview($filter: SegmentFilterInput!) { previewSegment(filter: $filter) { size typologies { code wallets } } }`;
export type PreviewData = { previewSegment: SegmentPreview };

export const SAVE_SEGMENT = `mutation Save($name: String!, $filter: SegmentFilterInput!) { saveSegment(name: $name, filter: $filter) { id name size } }`;
export type SaveData = { saveSegment: Pick<Segment, "id" | "name" | "size"> };

export const SEGMENTS = `query Segments { segments { id name size createdAt } }`;
export type SegmentsData = { segments: Pick<Segment, "id" | "name" | "size" | "createdAt">[] };

export const SEGMENT = `query SegmentOne($id: ID!, $first: Int!, $after: String) { segment(id: $id) { id name size createdAt definition typologies { code wallets } wallets(first: $first, after: $after) { address typology { code } cluster { id } anomaly { score flagged } } } }`;
export type SegmentData = {
  segment: Pick<Segment, "id" | "name" | "size" | "createdAt" | "definition"> & {
    typologies: SegmentTypology[];
    wallets: { address: string; typology: { code: string } | null; cluster: { id: number } | null; anomaly: { score: number; flagged: boolean } | null }[];
  };
};

export const CAMPAIGNS = `query Campaigns { campaigns { id name segmentId start end targets treatment control cost createdAt } }`;
export type CampaignsData = { campaigns: Pick<Campaign, "id" | "name" | "segmentId" | "start" | "end" | "targets" | "treatment" | "control" | "cost" | "createdAt">[] };

const LIFT = "treatment control diff low high pValue relative method";
export const CAMPAIGN = `query CampaignOne($id: ID!, $from: String, $to: String) { campaign(id: $id) {
  id name segmentId goalContracts goalCategories start end holdout cost window createdAt targets treatment control reportUrl
  snapshots { name at takenAt targets summary }
  metrics(from: $from, to: $to) { fromSnapshot toSnapshot confidence groups cost
    conversion { ${LIFT} } engagement { ${LIFT} } retention { ${LIFT} } volumeChange { ${LIFT} } }
} }`;
export type CampaignData = {
  campaign: Omit<Campaign, "metrics" | "snapshots"> & {
    snapshots: CampaignSnapshot[];
    metrics: (Omit<CampaignMetrics, "conversion" | "engagement" | "retention" | "volumeChange"> & {
      conversion: Lift | null; engagement: Lift | null; retention: Lift | null; volumeChange: Lift | null;
    }) | null;
  };
};

export const JOBS = `query Jobs($status: JobStatus, $first: Int!, $after: String) { jobs(status: $status, first: $first, after: $after) {
  edges { node { id kind status progress message attempts error errorCode createdAt startedAt finishedAt args } } pageInfo { hasNextPage endCursor } } }`;
export type JobRow = Pick<Job, "id" | "kind" | "status" | "progress" | "message" | "attempts" | "error" | "errorCode" | "createdAt" | "startedAt" | "finishedAt" | "args">;
export type JobsData = { jobs: { edges: { node: JobRow }[]; pageInfo: PageInfo } };

export const MODELS = `query Models { models { name activeVersion versions { version active created metrics params trainedOn seconds } } }`;
export type ModelsData = { models: ModelInfo[] };

export const CREATE_CAMPAIGN = `mutation Create($input: CampaignInput!) { createCampaign(input: $input) { id name targets treatment control } }`;
export type CreateCampaignData = { createCampaign: Pick<Campaign, "id" | "name" | "targets" | "treatment" | "control"> };

export const SNAPSHOT = `mutation Snap($id: ID!, $name: String) { snapshotCampaign(campaignId: $id, name: $name) { id kind status progress message error errorCode } }`;
export type SnapshotData = { snapshotCampaign: JobLite };
