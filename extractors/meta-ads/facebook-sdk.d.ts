/**
 * The part of `facebook-nodejs-business-sdk` (which ships no types) that the Meta Ads source
 * uses: the API session, an ad account, an async report run and the cursor over its rows.
 */
declare module 'facebook-nodejs-business-sdk' {
  type Params = Record<string, unknown>;

  export class FacebookAdsApi {
    static readonly VERSION: string;
    static readonly GRAPH: string;
    static setDefaultApi(api: FacebookAdsApi): void;
    static getDefaultApi(): FacebookAdsApi;
    /** Query-string encoding of Graph parameters: objects and arrays as JSON. */
    static _encodeParams(params: Params): string;
    accessToken: string;
    /** `crashLog` false keeps the SDK's crash reporter (an uncaught-exception hook posting to Meta) off. */
    constructor(accessToken: string, locale?: string, crashLog?: boolean);
    /** Every request of the SDK's objects and cursors goes through here: a path (joined under GRAPH/VERSION) or an absolute URL. */
    call(method: string, path: string | string[], params?: Params, files?: Params, useMultipartFormData?: boolean, urlOverride?: string): Promise<unknown>;
  }

  class CrudObject {
    id: string;
    exportAllData(): Record<string, unknown>;
  }

  export class AdsInsights extends CrudObject {}

  /** Iterates over an edge; `next()` follows the answer's absolute `paging.next` URL. */
  export interface Cursor extends Array<AdsInsights> {
    /** The last page's `paging`: `cursors.after` names the position after its last row. */
    paging?: { cursors?: { before?: string; after?: string }; next?: string };
    hasNext(): boolean;
    next(): Promise<Cursor>;
  }

  export class AdReportRun extends CrudObject {
    /** The SDK takes the run's id from `data.report_run_id` and always uses the default API. */
    constructor(id?: string | null, data?: Params);
    get(fields: string[], params?: Params): Promise<AdReportRun>;
    getInsights(fields: string[], params?: Params, fetchFirstPage?: true): Promise<Cursor>;
  }

  export class AdAccount extends CrudObject {
    constructor(id: string, data?: Params, parentId?: string, api?: FacebookAdsApi);
    read(fields: string[], params?: Params): Promise<AdAccount>;
    /** POST act_{id}/insights: starts an async report run. */
    getInsightsAsync(fields: string[], params?: Params): Promise<AdReportRun>;
  }
}
