// The member list of an RFC 2090 session (multicast-session.ts): lookup by peer, who is live, a
// host's older entries, and who becomes master next. The session decides what happens to them.
import type { TftpOption } from '../codec/tftp-packet.js';
import { ResendLimiter } from '../flowcontrol/resend-on-unexpected.js';
import { peerKey, type PeerAddress } from '../io/ports.js';
import type { Member } from './session-records.js';
import { startPosition } from './wrap-position.js';

const isLive = (m: Member) => m.state === 'listening' || m.state === 'master';

export class SessionMembers {
  private readonly list: Member[] = [];

  /** A new member record, listening, not yet heard from; served by unicast when its host is known
   *  to be deaf to the group. */
  static create(peer: PeerAddress, joinedAt: number, joinedAfterPackets: number, granted: readonly TftpOption[], oackIntervalMs: () => number, knownDeaf: boolean): Member {
    return {
      peer,
      joinedAt,
      joinedAfterPackets,
      granted,
      state: 'listening',
      passedOver: 0,
      heardSinceJoin: false,
      strayAcks: 0,
      lastOackAt: -Infinity,
      movedOut: false,
      lastHeardAt: joinedAt,
      position: startPosition(),
      followsWrap: false,
      unicast: knownDeaf,
      heardGroup: false,
      retransmits: 0,
      oackLimiter: new ResendLimiter(oackIntervalMs),
    };
  }

  /** Every member that ever joined (the summary counts them). */
  get total(): number {
    return this.list.length;
  }

  all(): readonly Member[] {
    return [...this.list];
  }

  at(peer: PeerAddress): Member | undefined {
    const key = peerKey(peer);
    return this.list.find((m) => peerKey(m.peer) === key);
  }

  /** Members still listening or master. */
  liveCount(): number {
    return this.list.filter(isLive).length;
  }

  /** Every live member is served by unicast (known deaf to the group). */
  allLiveUnicast(): boolean {
    return this.list.filter(isLive).every((m) => m.unicast);
  }

  add(member: Member): void {
    this.list.push(member);
  }

  remove(member: Member): void {
    this.list.splice(this.list.indexOf(member), 1);
  }

  /** The live entries of `member`'s host that joined before it. */
  olderLiveEntriesOf(member: Member): Member[] {
    return this.list.filter((old) => old !== member && old.joinedAt <= member.joinedAt && old.peer.address === member.peer.address && isLive(old));
  }

  /** Live members other than `member` that wait on the group (not moved out of it). */
  othersOnTheGroup(member: Member): boolean {
    return this.list.some((m) => m !== member && isLive(m) && !m.movedOut);
  }

  /** The next master: the oldest listening member; members that have answered come first (a
   *  forged request never answers), those passed over after the others. */
  nextMaster(): Member | undefined {
    return this.list
      .filter((m) => m.state === 'listening')
      .sort((a, b) => Number(b.heardSinceJoin) - Number(a.heardSinceJoin) || a.passedOver - b.passedOver || a.joinedAt - b.joinedAt)[0];
  }

  /** The first listening member in join order (10.1 rule 2, while gathering). */
  firstListening(): Member | undefined {
    return this.list.find((m) => m.state === 'listening');
  }
}
