// placeholder: replaced by the streaming bzip2 decoder
import { RpmError, RpmErrorCode } from './errors.ts';
export class Bzip2Decoder {
  constructor(_sink: (b: Uint8Array) => void, pkg: string) {
    throw new RpmError(RpmErrorCode.UNSUPPORTED, pkg, 'bzip2 payloads are not supported yet');
  }
  push(_c: Uint8Array, _f: boolean): void {}
}
