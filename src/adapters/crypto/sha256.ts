/** SHA-256 from node:crypto, injected into the audit domain (which may not import Node built-ins). */
import { createHash } from 'node:crypto';
import type { Sha256 } from '../../domain/audit/audit-event.model';

/** Hashes bytes with SHA-256. */
export const sha256: Sha256 = (bytes) => createHash('sha256').update(bytes).digest();
