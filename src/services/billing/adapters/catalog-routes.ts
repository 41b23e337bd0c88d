import type { FastifyInstance } from 'fastify';
import { listOf, pageOf, pathId, routeKit } from '../../../platform/http/routes.js';
import type { BillingDeps } from '../app/deps.js';
import * as Prices from '../app/prices.js';
import * as Products from '../app/products.js';
import * as Search from '../app/catalog-search.js';
import { expandCatalog } from './catalog-expand.js';
import * as S from './catalog-schemas.js';

/** The catalog API: /v1/products and /v1/prices. Every POST runs through the write pipeline. */
export function catalogRoutes(deps: BillingDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    const { post, get } = routeKit(app, deps.write, (merchant_id, body, fields) => expandCatalog(deps, merchant_id, body, fields));
    post('/v1/products', S.createProductSchema, ['product', 'price'], (ctx, p) => Products.createProduct(ctx, p));
    post('/v1/products/:id', S.updateProductSchema, [], (ctx, p, r) => Products.updateProductParams(ctx, pathId(r), p));
    post('/v1/products/:id', S.deleteProductSchema, [], (ctx, _p, r) => Products.deleteProduct(ctx, pathId(r)), 'DELETE');
    // Fastify matches the static search paths before the `:id` retrieve routes.
    get('/v1/products/search', S.searchProductsSchema, async (m, q) => ({ ...(await Search.searchProducts(deps, m, q)) }));
    get('/v1/products/:id', S.retrieveProductSchema, (m, _q, r) => Products.retrieveProduct(deps, m, pathId(r)));
    get('/v1/products', S.listProductsSchema, async (m, q) =>
      listOf('/v1/products', await Products.listProducts(deps, m, { active: q.active, ids: q.ids, shippable: q.shippable, url: q.url }, pageOf(q))),
    );
    post('/v1/prices', S.createPriceSchema, ['price', 'product'], (ctx, p) => Prices.createPrice(ctx, p));
    post('/v1/prices/:id', S.updatePriceSchema, [], (ctx, p, r) => Prices.updatePriceParams(ctx, pathId(r), p));
    get('/v1/prices/search', S.searchPricesSchema, async (m, q) => ({ ...(await Search.searchPrices(deps, m, q)) }));
    get('/v1/prices/:id', S.retrievePriceSchema, (m, _q, r) => Prices.retrievePrice(deps, m, pathId(r)));
    get('/v1/prices', S.listPricesSchema, async (m, q) => {
      const filters = { active: q.active, currency: q.currency, product: q.product, type: q.type, lookup_keys: q.lookup_keys, recurring: q.recurring };
      return listOf('/v1/prices', await Prices.listPrices(deps, m, filters, pageOf(q)));
    });
  };
}
