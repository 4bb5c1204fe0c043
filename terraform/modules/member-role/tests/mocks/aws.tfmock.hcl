# The AWS provider as the member-role tests mock it: a member account 444455556666.

mock_data "aws_caller_identity" {
  defaults = { account_id = "444455556666" }
}
mock_data "aws_partition" {
  defaults = { partition = "aws", dns_suffix = "amazonaws.com" }
}
mock_resource "aws_iam_role" {
  defaults = { arn = "arn:aws:iam::444455556666:role/firebreak-responder" }
}
mock_resource "aws_iam_policy" {
  defaults = { arn = "arn:aws:iam::444455556666:policy/firebreak-responder-mock" }
}
