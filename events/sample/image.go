package sample

import (
	"fmt"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Image is an item as a stream record carries it (DynamoDB JSON, as
// aws-lambda-go models it).
func Image(item map[string]types.AttributeValue) map[string]events.DynamoDBAttributeValue {
	out := make(map[string]events.DynamoDBAttributeValue, len(item))
	for k, v := range item {
		out[k] = imageValue(v)
	}
	return out
}

func imageValue(v types.AttributeValue) events.DynamoDBAttributeValue {
	switch tv := v.(type) {
	case *types.AttributeValueMemberS:
		return events.NewStringAttribute(tv.Value)
	case *types.AttributeValueMemberN:
		return events.NewNumberAttribute(tv.Value)
	case *types.AttributeValueMemberB:
		return events.NewBinaryAttribute(tv.Value)
	case *types.AttributeValueMemberBOOL:
		return events.NewBooleanAttribute(tv.Value)
	case *types.AttributeValueMemberNULL:
		return events.NewNullAttribute()
	case *types.AttributeValueMemberSS:
		return events.NewStringSetAttribute(tv.Value)
	case *types.AttributeValueMemberNS:
		return events.NewNumberSetAttribute(tv.Value)
	case *types.AttributeValueMemberBS:
		return events.NewBinarySetAttribute(tv.Value)
	case *types.AttributeValueMemberL:
		l := make([]events.DynamoDBAttributeValue, len(tv.Value))
		for i, e := range tv.Value {
			l[i] = imageValue(e)
		}
		return events.NewListAttribute(l)
	case *types.AttributeValueMemberM:
		return events.NewMapAttribute(Image(tv.Value))
	}
	panic(fmt.Sprintf("sample: attribute value %T", v))
}

// ItemSize is an item's size as DynamoDB counts it (names and values:
// a string's bytes, about half a byte per digit of a number, a byte for a
// boolean or null, 3 bytes and a byte per element for a map or list).
func ItemSize(item map[string]types.AttributeValue) int64 {
	var n int64
	for k, v := range item {
		n += int64(len(k)) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int64 {
	switch tv := v.(type) {
	case *types.AttributeValueMemberS:
		return int64(len(tv.Value))
	case *types.AttributeValueMemberN:
		return int64(len(tv.Value)+1)/2 + 1
	case *types.AttributeValueMemberB:
		return int64(len(tv.Value))
	case *types.AttributeValueMemberSS:
		var n int64
		for _, s := range tv.Value {
			n += int64(len(s))
		}
		return n
	case *types.AttributeValueMemberL:
		n := int64(3)
		for _, e := range tv.Value {
			n += 1 + valueSize(e)
		}
		return n
	case *types.AttributeValueMemberM:
		return 3 + int64(len(tv.Value)) + ItemSize(tv.Value)
	}
	return 1
}
