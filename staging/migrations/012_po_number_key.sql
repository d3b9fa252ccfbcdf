-- Purchase orders by their normalised number (upper case, no separators, no PO/Order prefix,
-- no leading zeros), so a PO cited as "po 4500001" finds "PO-4500001" without a table scan.
-- Keep in step with matchers.normalize.normalize_po_number.
CREATE INDEX purchase_orders_number_key ON purchase_orders ((
    ltrim(regexp_replace(regexp_replace(upper(po_number), '[^0-9A-Z]', '', 'g'),
                         '^(PURCHASEORDER|PO|ORDER|BESTELLUNG|BESTELLNR|BEST|NR|NO)+', ''), '0')
));
