/** `whalefall estate set-time-zone`: facts every process of a scale-out estate must agree on. */
import type { Command } from 'commander';
import { CLI_ACTOR } from '../../services/audit.service.js';
import { ESTATE_TIME_ZONE } from '../../services/estate.service.js';
import { CliError, withContext, print } from '../shared.js';

export function register(program: Command): void {
  const estate = program.command('estate').description('facts every process of a scale-out estate must agree on');
  estate
    .command('set-time-zone <zone>')
    .description("change the estate's time zone (the day records are filed under); then restart every process with WHALEFALL_TZ=<zone>")
    .action(async (zone: string) =>
      withContext(async (ctx) => {
        try {
          new Intl.DateTimeFormat('en-US', { timeZone: zone });
        } catch {
          throw new CliError(`not a known time zone: "${zone}"`);
        }
        const before = await ctx.processesRepo.estate(ESTATE_TIME_ZONE);
        await ctx.processesRepo.estateSet(ESTATE_TIME_ZONE, zone, ctx.clock.now().toISOString());
        await ctx.audit.record(CLI_ACTOR, {
          action: 'estate.time_zone',
          targetType: 'estate',
          targetId: ESTATE_TIME_ZONE,
          details: { from: before ?? null, to: zone },
        });
        print(
          `estate time zone: ${before ?? '(unset)'} → ${zone}. Restart every serve and worker with WHALEFALL_TZ=${zone}; processes with another zone refuse to start.`,
        );
      }),
    );
}
