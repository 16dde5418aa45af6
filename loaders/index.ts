export { landPage, landPages, preparePage, readStreamState, type LandResult, type LandTarget } from './raw-loader.ts';
export { RawText, RejectedRecord } from './raw-text.ts';
export { readRecordsFile, type FileFormat } from './file-reader.ts';
