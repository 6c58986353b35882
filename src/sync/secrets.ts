// Secrets among the settings (the proxy password): sealed with AES-256-GCM under a key kept in
// the store, so a copy of the settings table alone (a log, a backup of it, `config get`) does
// not give the password away. The key is made on first use.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { SealedSecret } from '../domain/settings.ts';
import type { SettingRepository } from '../store/index.ts';

/** Not a `config` key: `config set` refuses it and `config get` never lists it. */
export const SECRET_KEY_SETTING = 'internal.secretKey';
const VERSION = 'v1';

async function secretKey(settings: SettingRepository): Promise<Buffer> {
  const stored = await settings.get(SECRET_KEY_SETTING);
  if (typeof stored === 'string' && Buffer.from(stored, 'base64').length === 32) return Buffer.from(stored, 'base64');
  const key = randomBytes(32);
  await settings.set(SECRET_KEY_SETTING, key.toString('base64'));
  return key;
}

export async function sealSecret(settings: SettingRepository, clear: string): Promise<SealedSecret> {
  const key = await secretKey(settings);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(clear, 'utf8'), cipher.final()]);
  return { sealed: [VERSION, iv.toString('base64'), cipher.getAuthTag().toString('base64'), body.toString('base64')].join(':') };
}

export class SecretError extends Error {
  override name = 'SecretError';
}

export async function openSecret(settings: SettingRepository, secret: SealedSecret): Promise<string> {
  const [version, iv, tag, body] = secret.sealed.split(':');
  if (version !== VERSION || iv === undefined || tag === undefined || body === undefined) throw new SecretError('a stored secret is not in a known format: set it again');
  const key = await secretKey(settings);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]).toString('utf8');
  } catch {
    throw new SecretError('a stored secret cannot be opened (its key changed): set it again');
  }
}
