// The content directory: what the HTTP server, the downloader and the CLI use.
export { ContentStore, type ByteRange, type ContentFile } from './store.ts';
export { type ContentSource, type PublishOptions, type PublishResult } from './publish.ts';
export { DigestMismatchError, ContentBusyError, type ContentCheck } from './errors.ts';
export { verifyContent, type VerifyOptions, type VerifyProgress, type VerifyReport, type VerifyStatus, type CorruptContent } from './verify.ts';
export { copyContent, type CopyOptions, type CopyProgress, type CopyResult, type CorruptSource } from './copy.ts';
