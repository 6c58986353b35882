// The error every WSUS operation reports through: a SOAP fault whose `detail` carries an ErrorCode
// the peer acts on (re-authenticate, reset anchors, stop). Thrown by handlers and by the
// parameter readers, written by the envelope writer, and rebuilt from the wire by the client.

/** ErrorCode values of MS-WSUSSS 2.2.9.3 and MS-WUSP 2.2.2.4. */
export const SOAP_ERROR_CODES = [
  'InvalidParameters',
  'InvalidCookie',
  'InternalServerError',
  'IncompatibleProtocolVersion',
  'InvalidAuthorizationCookie',
  'FileDigestsMissing',
  'ServerChanged',
  'ServerBusy',
  'TooManyIds',
  'ConfigChanged',
  'CookieExpired',
  'RegistrationRequired',
  'RegistrationNotRequired',
  'FileLocationChanged',
] as const;

export type SoapErrorCode = (typeof SOAP_ERROR_CODES)[number];

/**
 * Who is to blame, SOAP 1.1 style. Written `soap:Client` / `soap:Server` in 1.1 and mapped to
 * `Sender` / `Receiver` in 1.2. A real WSUS uses Server only for InternalServerError.
 */
export type SoapFaultCode = 'Client' | 'Server' | 'VersionMismatch' | 'MustUnderstand';

/** What a real WSUS (Windows Server 2025) puts in `faultstring` whatever the error. */
export const WSUS_FAULT_STRING = 'Fault occurred';

export interface SoapFaultOptions {
  faultCode?: SoapFaultCode;
  faultString?: string;
  /** `faultactor`: the service URL. Filled in by the server from the request when absent. */
  actor?: string;
  /** `detail/ID`; a fresh GUID is generated when the fault is written. */
  id?: string;
  /** `detail/Method` as received (the quoted SOAPAction). Filled in by the server. */
  method?: string;
  /** Extra explanation for logs; never sent on the wire. */
  reason?: string;
  cause?: unknown;
}

export function isSoapErrorCode(value: string): value is SoapErrorCode {
  return (SOAP_ERROR_CODES as readonly string[]).includes(value);
}

export class SoapFault extends Error {
  override readonly name = 'SoapFault';
  /**
   * A WSUS ErrorCode. Faults read from the wire may carry a code outside the known set, or ''
   * when the peer sent no WSUS detail (an ASMX or WCF runtime fault).
   */
  readonly errorCode: SoapErrorCode | (string & {});
  readonly faultCode: SoapFaultCode;
  readonly faultString: string;
  readonly actor: string | undefined;
  readonly id: string | undefined;
  readonly method: string | undefined;
  readonly reason: string | undefined;

  /**
   * `message` is the wire `Message`: for InvalidParameters the path of the offending parameter
   * (`filter`, `updateIds`, `parameters.InstalledNonLeafUpdateIDs`), as WSUS writes it.
   */
  constructor(errorCode: SoapErrorCode | (string & {}), message = '', options: SoapFaultOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.errorCode = errorCode;
    this.faultCode = options.faultCode ?? (errorCode === 'InternalServerError' ? 'Server' : 'Client');
    this.faultString = options.faultString ?? WSUS_FAULT_STRING;
    this.actor = options.actor;
    this.id = options.id;
    this.method = options.method;
    this.reason = options.reason;
  }

  /** One line for logs and error messages, with what the wire does not carry. */
  describe(): string {
    const parts = [`${this.errorCode || this.faultCode} fault`];
    if (this.message !== '') parts.push(`Message ${JSON.stringify(this.message)}`);
    if (this.reason !== undefined) parts.push(this.reason);
    if (this.errorCode === '' && this.faultString !== '') parts.push(this.faultString);
    return parts.join(': ');
  }
}

/** InvalidParameters naming `path`, with an optional log-only reason. */
export function invalidParameter(path: string, reason?: string): SoapFault {
  return new SoapFault('InvalidParameters', path, reason === undefined ? {} : { reason });
}
