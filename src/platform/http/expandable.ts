import { z } from 'zod';
import { expand } from './params.js';

/** Stripe expands at most four levels deep (`a.b.c.d`). */
const MAX_DEPTH = 4;

/**
 * `expand[]` checked against what the route's object can expand: an unknown path is a 400 before
 * anything runs, as on Stripe, so a POST with a bad path changes nothing.
 */
export const expandable = (canExpand: (path: readonly string[]) => boolean) =>
  expand().transform((paths, ctx) => {
    for (const path of paths) {
      const segments = path.split('.');
      const depth = segments.filter((segment) => segment !== 'data').length;
      const message =
        depth > MAX_DEPTH
          ? `You cannot expand more than ${MAX_DEPTH} levels of a property (${path.slice(0, 200)}).`
          : segments.some((segment) => segment === '') || !canExpand(segments)
            ? `This property cannot be expanded (${path.slice(0, 200)}).`
            : undefined;
      if (message) {
        ctx.addIssue({ code: 'custom', message, params: { stripe_code: 'parameter_invalid' } });
        return z.NEVER;
      }
    }
    return paths;
  });

/** For a list: paths go through `data`, then follow the items' own rules. */
export const expandableList = (canExpandItem: (path: readonly string[]) => boolean) =>
  expandable((segments) => segments[0] === 'data' && segments.length > 1 && canExpandItem(segments.slice(1)));
