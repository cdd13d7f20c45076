/**
 * One count per availability-group database in the estate total (issue 23).
 *
 * A replica that reads its role as SECONDARY leaves its copy out of its own
 * instance total, so a healthy group is counted once, on its primary. When a
 * replica cannot read its role (UNKNOWN: the DMV was refused; RESOLVING: a
 * failover in progress) its copy stays in its instance total — that instance
 * does hold the bytes — and the estate total then keeps exactly one copy per
 * group database: the PRIMARY's when a replica says PRIMARY, otherwise the
 * largest copy (ties: the lowest instance id). Every other counted copy is a
 * duplicate, subtracted from the estate figures, never from the instance's.
 */
export interface CountedCopy {
  instance_id: number;
  group_id: string;
  role: string | null;
  size_bytes: number;
}

export interface DuplicateCopies {
  /** instance id → bytes of its counted copies that another instance's copy stands for. */
  byInstance: Map<number, number>;
  /** Sum of byInstance. */
  bytes: number;
  /** Group databases with more than one counted copy. */
  groups: number;
}

export function duplicateCopies(copies: readonly CountedCopy[]): DuplicateCopies {
  const groups = new Map<string, CountedCopy[]>();
  for (const c of copies) {
    const list = groups.get(c.group_id);
    if (list) list.push(c);
    else groups.set(c.group_id, [c]);
  }
  const byInstance = new Map<number, number>();
  let bytes = 0;
  let counted = 0;
  for (const list of groups.values()) {
    if (list.length < 2) continue;
    counted++;
    const keep = list.reduce((best, c) => {
      const bestPrimary = best.role === 'PRIMARY';
      const cPrimary = c.role === 'PRIMARY';
      if (cPrimary !== bestPrimary) return cPrimary ? c : best;
      if (c.size_bytes !== best.size_bytes) return c.size_bytes > best.size_bytes ? c : best;
      return c.instance_id < best.instance_id ? c : best;
    });
    for (const c of list) {
      if (c === keep) continue;
      byInstance.set(c.instance_id, (byInstance.get(c.instance_id) ?? 0) + c.size_bytes);
      bytes += c.size_bytes;
    }
  }
  return { byInstance, bytes, groups: counted };
}
