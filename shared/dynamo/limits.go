package dynamo

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// DynamoDB's limits that the stores enforce before they write, so that an
// item or a transaction DynamoDB would reject is a clear error wrapping
// snapkeep.ErrInvalid instead (moto enforces none of the size limits).
const (
	// MaxItemBytes is DynamoDB's limit on one item's size (400 KB).
	MaxItemBytes = 400 * 1024
	// TransactMax is DynamoDB's limit of items per TransactWriteItems.
	TransactMax = 100
	// MaxTransactBytes is DynamoDB's limit on the total size of the items
	// of one TransactWriteItems (4 MB). A transaction costs 2 write units
	// per KB of each item.
	MaxTransactBytes = 4 * 1024 * 1024
	// MaxSaveCalls is how many ApiCalls rows one RunStore.Save writes with
	// the run item, in its one transaction: TransactMax less the run.
	MaxSaveCalls = TransactMax - 1
	// MaxPartitionKeyBytes and MaxSortKeyBytes are DynamoDB's limits on a
	// key attribute's value, for the table's keys and every index's.
	MaxPartitionKeyBytes = 2048
	MaxSortKeyBytes      = 1024
)

// ItemSize is an item's size by DynamoDB's documented rules ("DynamoDB item
// sizes and formats"): for each attribute, the UTF-8 length of its name
// plus its value's size, where a string is its UTF-8 length, binary its
// raw length, a boolean or null 1 byte, a number about 1 byte per two
// significant digits plus 1 (plus 1 when negative: a slight overestimate),
// a set the sum of its members, and a list or map 3 bytes plus, per
// element, 1 byte, the element's size and (in a map) its name's length.
// Only numbers are approximate, and at most by a byte or two each.
func ItemSize(item map[string]types.AttributeValue) int {
	n := 0
	for name, v := range item {
		n += len(name) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return numberSize(v.Value)
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberSS:
		n := 0
		for _, s := range v.Value {
			n += len(s)
		}
		return n
	case *types.AttributeValueMemberNS:
		n := 0
		for _, s := range v.Value {
			n += numberSize(s)
		}
		return n
	case *types.AttributeValueMemberBS:
		n := 0
		for _, b := range v.Value {
			n += len(b)
		}
		return n
	case *types.AttributeValueMemberM:
		return 3 + len(v.Value) + ItemSize(v.Value)
	case *types.AttributeValueMemberL:
		n := 3 + len(v.Value)
		for _, e := range v.Value {
			n += valueSize(e)
		}
		return n
	}
	return 0
}

// numberSize is a number's size: 1 byte per two significant digits (leading
// and trailing zeros do not count), plus 1, plus 1 when negative.
func numberSize(s string) int {
	neg := strings.HasPrefix(s, "-")
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		s = s[:i]
	}
	digits := strings.Trim(strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s), "0")
	n := (len(digits)+1)/2 + 1
	if neg {
		n++
	}
	return n
}

// checkItem returns an error wrapping snapkeep.ErrInvalid when item, of a
// table described by spec, is over MaxItemBytes or has a table or index key
// attribute over DynamoDB's key size limits; what names the item in the
// error ("run p1#2026-11-24T03:00:00Z"), called only then. It returns the
// item's size.
func checkItem(what func() string, spec TableSpec, item map[string]types.AttributeValue) (int, error) {
	size := ItemSize(item)
	if size > MaxItemBytes {
		return size, fmt.Errorf("%s: item is %d bytes, over DynamoDB's limit of %d (400 KB): %w", what(), size, MaxItemBytes, snapkeep.ErrInvalid)
	}
	check := func(attr KeyAttr, max int) error {
		if attr.Name == "" {
			return nil
		}
		if v, ok := item[attr.Name].(*types.AttributeValueMemberS); ok && len(v.Value) > max {
			return fmt.Errorf("%s: key attribute %s is %d bytes, over DynamoDB's limit of %d: %w", what(), attr.Name, len(v.Value), max, snapkeep.ErrInvalid)
		}
		return nil
	}
	if err := check(spec.PartitionKey, MaxPartitionKeyBytes); err != nil {
		return size, err
	}
	if err := check(spec.SortKey, MaxSortKeyBytes); err != nil {
		return size, err
	}
	for _, ix := range spec.Indexes {
		if err := check(ix.PartitionKey, MaxPartitionKeyBytes); err != nil {
			return size, err
		}
		if err := check(ix.SortKey, MaxSortKeyBytes); err != nil {
			return size, err
		}
	}
	return size, nil
}
